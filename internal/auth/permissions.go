package auth

// Permission is one thing a request may ask to do, named "resource:verb".
// Every route of the management API asks for exactly one (the table in
// internal/httpapi/permissions.go); RolePermissions says which roles
// grant it.
type Permission string

// The permissions, by resource. A ":read" permission reads one thing or
// a page of definitions; ":members" and ":export" read personal data in
// bulk, and are recorded in the audit log.
const (
	PermSelf Permission = "self" // who am I, log out: any signed-in user or key

	PermSourcesRead  Permission = "sources:read"
	PermSourcesWrite Permission = "sources:write"
	PermEventsRead   Permission = "events:read" // the raw event log and rejections: personal data in bulk

	PermProfilesRead   Permission = "profiles:read"
	PermProfilesWrite  Permission = "profiles:write" // unmerge, consent changes
	PermProfilesExport Permission = "profiles:export"
	PermProfilesErase  Permission = "profiles:erase"

	PermSegmentsRead    Permission = "segments:read"
	PermSegmentsWrite   Permission = "segments:write"
	PermSegmentsMembers Permission = "segments:members" // member lists: personal data in bulk

	PermCatalogRead       Permission = "catalog:read" // products, locations, stock levels
	PermCatalogWrite      Permission = "catalog:write"
	PermStockWrite        Permission = "stock:write"
	PermReservationsRead  Permission = "reservations:read"
	PermReservationsWrite Permission = "reservations:write"
	PermOrdersRead        Permission = "orders:read"
	PermOrdersWrite       Permission = "orders:write"
	PermCartsRead         Permission = "carts:read"
	PermCartsWrite        Permission = "carts:write"

	PermTemplatesRead  Permission = "templates:read"
	PermTemplatesWrite Permission = "templates:write"
	PermMessagesRead   Permission = "messages:read"
	PermMessagesSend   Permission = "messages:send"
	PermReceiptsWrite  Permission = "receipts:write"

	PermJourneysRead  Permission = "journeys:read"
	PermJourneysWrite Permission = "journeys:write"
	PermJourneysEnrol Permission = "journeys:enrol"
	PermTasksRead     Permission = "tasks:read"
	PermTasksWrite    Permission = "tasks:write"
	// Conversations: customer service (issue 21); store roles only their
	// stores'.
	PermConversationsRead  Permission = "conversations:read"
	PermConversationsWrite Permission = "conversations:write"

	// PermClientelingRead reads a customer's card, PermClientelingNotes
	// adds a note to their timeline (issue 21.5).
	PermClientelingRead  Permission = "clienteling:read"
	PermClientelingNotes Permission = "clienteling:notes"

	PermMeasureRead  Permission = "measure:read"
	PermMeasureWrite Permission = "measure:write"

	PermUsersRead  Permission = "users:read"
	PermUsersWrite Permission = "users:write"
	PermKeysRead   Permission = "keys:read"
	PermKeysWrite  Permission = "keys:write"
	PermAuditRead  Permission = "audit:read"
	// PermRetentionRun applies the retention policy now (issue 19.7).
	PermRetentionRun Permission = "retention:run"
	// The loyalty programme (issue 23): statements and the liability
	// report; a till's earnings and redemptions; the programme itself.
	PermLoyaltyRead  Permission = "loyalty:read"
	PermLoyaltyTill  Permission = "loyalty:till"
	PermLoyaltyWrite Permission = "loyalty:write"
)

// RolePermissions is the permission table: what each role grants beside
// PermSelf, which every role grants. Owner and admin grant every
// permission. docs/security.md prints it; a test checks the two agree.
var RolePermissions = map[Role][]Permission{
	RoleMarketer: {
		PermSourcesRead, PermProfilesRead, PermSegmentsRead, PermSegmentsWrite, PermSegmentsMembers,
		PermCatalogRead, PermTemplatesRead, PermTemplatesWrite, PermMessagesRead, PermMessagesSend,
		PermJourneysRead, PermJourneysWrite, PermJourneysEnrol, PermTasksRead, PermMeasureRead,
		PermLoyaltyRead, PermLoyaltyWrite,
	},
	RoleAnalyst: {
		PermSourcesRead, PermSegmentsRead, PermCatalogRead, PermTemplatesRead, PermJourneysRead,
		PermOrdersRead, PermMeasureRead, PermMeasureWrite,
		PermLoyaltyRead,
	},
	RoleStoreManager: {
		PermProfilesRead, PermCatalogRead, PermStockWrite, PermReservationsRead, PermReservationsWrite,
		PermOrdersRead, PermOrdersWrite, PermCartsRead, PermTasksRead, PermTasksWrite, PermMeasureRead,
		PermClientelingRead, PermClientelingNotes,
		PermConversationsRead, PermConversationsWrite,
		PermLoyaltyRead, PermLoyaltyTill,
	},
	RoleStoreStaff: {
		PermProfilesRead, PermCatalogRead, PermReservationsRead, PermReservationsWrite,
		PermOrdersRead, PermCartsRead, PermTasksRead, PermTasksWrite,
		PermClientelingRead, PermClientelingNotes,
		PermConversationsRead, PermConversationsWrite,
		PermLoyaltyRead, PermLoyaltyTill,
	},
	RoleAgent: {
		PermProfilesRead, PermProfilesWrite, PermCatalogRead, PermReservationsRead, PermOrdersRead,
		PermCartsRead, PermCartsWrite, PermTemplatesRead, PermMessagesRead, PermTasksRead,
		PermClientelingRead, PermClientelingNotes,
		PermConversationsRead, PermConversationsWrite,
		PermLoyaltyRead,
	},
	RoleReadOnly: {
		PermSourcesRead, PermProfilesRead, PermSegmentsRead, PermCatalogRead, PermReservationsRead,
		PermOrdersRead, PermCartsRead, PermTemplatesRead, PermMessagesRead, PermJourneysRead,
		PermTasksRead, PermMeasureRead, PermClientelingRead, PermConversationsRead,
		PermLoyaltyRead,
	},
}

// AllPermissions is every permission, in the table's order.
var AllPermissions = []Permission{
	PermSelf,
	PermSourcesRead, PermSourcesWrite, PermEventsRead,
	PermProfilesRead, PermProfilesWrite, PermProfilesExport, PermProfilesErase,
	PermSegmentsRead, PermSegmentsWrite, PermSegmentsMembers,
	PermCatalogRead, PermCatalogWrite, PermStockWrite, PermReservationsRead, PermReservationsWrite,
	PermOrdersRead, PermOrdersWrite, PermCartsRead, PermCartsWrite,
	PermTemplatesRead, PermTemplatesWrite, PermMessagesRead, PermMessagesSend, PermReceiptsWrite,
	PermJourneysRead, PermJourneysWrite, PermJourneysEnrol, PermTasksRead, PermTasksWrite,
	PermClientelingRead, PermClientelingNotes,
	PermConversationsRead, PermConversationsWrite,
	PermMeasureRead, PermMeasureWrite,
	PermUsersRead, PermUsersWrite, PermKeysRead, PermKeysWrite, PermAuditRead, PermRetentionRun,
	PermLoyaltyRead, PermLoyaltyTill, PermLoyaltyWrite,
}

// BulkRead reports whether p reads personal data in bulk: such reads are
// recorded in the audit log like changes.
func (p Permission) BulkRead() bool {
	return p == PermEventsRead || p == PermSegmentsMembers || p == PermProfilesExport
}

var (
	permIndex = map[Permission]uint{}
	masks     = map[Role]uint64{}
)

func init() {
	if len(AllPermissions) > 64 {
		panic("auth: more than 64 permissions: widen the role masks")
	}
	var all uint64
	for i, p := range AllPermissions {
		permIndex[p] = uint(i)
		all |= 1 << i
	}
	masks[RoleOwner], masks[RoleAdmin] = all, all
	for r, ps := range RolePermissions {
		m := uint64(1) << permIndex[PermSelf]
		for _, p := range ps {
			i, ok := permIndex[p]
			if !ok {
				panic("auth: role " + string(r) + " grants " + string(p) + ", which AllPermissions lacks")
			}
			m |= 1 << i
		}
		masks[r] = m
	}
}
