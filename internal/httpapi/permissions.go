package httpapi

import "github.com/parcours/parcours/internal/auth"

// routePermissions is the permission each route of the management API
// asks for, by its key in the route table (Route.Key). The authenticate
// wrapper checks it, the one place where authorisation happens; a route
// missing here asks for permissionUnlisted, which only owner and admin
// hold, and TestEveryManagementRouteHasAPermission fails.
// docs/security.md prints this table with the roles that grant each
// permission (auth.RolePermissions).
var routePermissions = map[string]auth.Permission{
	"GET /api/v1/sources":               auth.PermSourcesRead,
	"POST /api/v1/sources":              auth.PermSourcesWrite,
	"GET /api/v1/sources/{id}":          auth.PermSourcesRead,
	"POST /api/v1/sources/{id}/disable": auth.PermSourcesWrite,
	"GET /api/v1/events":                auth.PermEventsRead,
	"GET /api/v1/rejections":            auth.PermEventsRead,

	"GET /api/v1/profiles":               auth.PermProfilesRead,
	"GET /api/v1/profiles/{id}":          auth.PermProfilesRead,
	"GET /api/v1/profiles/{id}/timeline": auth.PermProfilesRead,
	"GET /api/v1/profiles/{id}/merges":   auth.PermProfilesRead,
	"POST /api/v1/profiles/{id}/unmerge": auth.PermProfilesWrite,
	"GET /api/v1/profiles/{id}/messages": auth.PermMessagesRead,
	"GET /api/v1/profiles/{id}/consent":  auth.PermProfilesRead,
	"POST /api/v1/consent":               auth.PermProfilesWrite,
	"GET /api/v1/profiles/{id}/export":   auth.PermProfilesExport, // issue 19.5 (privacy)
	"DELETE /api/v1/profiles/{id}":       auth.PermProfilesErase,  // issue 19.6 (privacy)
	"DELETE /api/v1/profiles":            auth.PermProfilesErase,  // issue 19.6 (privacy)
	"GET /api/v1/erasures":               auth.PermAuditRead,      // issue 19.6 (privacy)
	"POST /api/v1/retention/run":         auth.PermRetentionRun,   // issue 19.7 (privacy)
	"GET /api/v1/segments":               auth.PermSegmentsRead,
	"POST /api/v1/segments":              auth.PermSegmentsWrite,
	"POST /api/v1/segments/preview":      auth.PermSegmentsRead,
	"GET /api/v1/segments/{id}":          auth.PermSegmentsRead,
	"POST /api/v1/segments/{id}/archive": auth.PermSegmentsWrite,
	"GET /api/v1/segments/{id}/members":  auth.PermSegmentsMembers,
	"GET /api/v1/segments/{id}/counts":   auth.PermSegmentsRead,
	"GET /api/v1/segments/{id}/history":  auth.PermSegmentsMembers,

	"GET /api/v1/products":                   auth.PermCatalogRead,
	"GET /api/v1/products/{id}":              auth.PermCatalogRead,
	"PUT /api/v1/products/{id}":              auth.PermCatalogWrite,
	"GET /api/v1/locations":                  auth.PermCatalogRead,
	"GET /api/v1/locations/{id}":             auth.PermCatalogRead,
	"PUT /api/v1/locations/{id}":             auth.PermCatalogWrite,
	"GET /api/v1/stock/{sku}":                auth.PermCatalogRead,
	"PUT /api/v1/stock/{sku}/{location}":     auth.PermStockWrite,
	"GET /api/v1/stock/{sku}/nearby":         auth.PermCatalogRead,
	"POST /api/v1/stock/adjustments":         auth.PermStockWrite,
	"POST /api/v1/reservations":              auth.PermReservationsWrite,
	"GET /api/v1/reservations":               auth.PermReservationsRead,
	"GET /api/v1/reservations/{id}":          auth.PermReservationsRead,
	"POST /api/v1/reservations/{id}/release": auth.PermReservationsWrite,
	"POST /api/v1/orders":                    auth.PermOrdersWrite,
	"GET /api/v1/orders":                     auth.PermOrdersRead,
	"GET /api/v1/orders/{id}":                auth.PermOrdersRead,
	"POST /api/v1/orders/{id}/transitions":   auth.PermOrdersWrite,
	"POST /api/v1/orders/{id}/returns":       auth.PermOrdersWrite,
	"GET /api/v1/orders/{id}/returns":        auth.PermOrdersRead,
	"GET /api/v1/carts/{customer}":           auth.PermCartsRead,
	"PUT /api/v1/carts/{customer}":           auth.PermCartsWrite,

	"GET /api/v1/loyalty/programme":              auth.PermLoyaltyRead,  // issue 23 (loyalty)
	"POST /api/v1/loyalty/programme":             auth.PermLoyaltyWrite, // issue 23 (loyalty)
	"GET /api/v1/loyalty/liability":              auth.PermLoyaltyRead,  // issue 23 (loyalty)
	"GET /api/v1/loyalty/{identifier}/statement": auth.PermLoyaltyRead,  // issue 23 (loyalty)
	"POST /api/v1/loyalty/{identifier}/redeem":   auth.PermLoyaltyTill,  // issue 23 (loyalty)
	"POST /api/v1/loyalty/{identifier}/earn":     auth.PermLoyaltyTill,  // issue 23 (loyalty)

	"GET /api/v1/templates":               auth.PermTemplatesRead,
	"POST /api/v1/templates":              auth.PermTemplatesWrite,
	"GET /api/v1/templates/{id}":          auth.PermTemplatesRead,
	"PUT /api/v1/templates/{id}":          auth.PermTemplatesWrite,
	"DELETE /api/v1/templates/{id}":       auth.PermTemplatesWrite,
	"POST /api/v1/templates/{id}/preview": auth.PermTemplatesRead,
	"POST /api/v1/messages":               auth.PermMessagesSend,
	"POST /api/v1/messages/batch":         auth.PermMessagesSend, // issue 17 (bulk)
	"GET /api/v1/messages/{id}":           auth.PermMessagesRead,
	"POST /api/v1/receipts/{provider}":    auth.PermReceiptsWrite,
	"GET /api/v1/topics":                  auth.PermTemplatesRead,

	"GET /api/v1/journeys":               auth.PermJourneysRead,
	"POST /api/v1/journeys":              auth.PermJourneysWrite,
	"GET /api/v1/journeys/{id}":          auth.PermJourneysRead,
	"GET /api/v1/journeys/{id}/stats":    auth.PermJourneysRead,
	"POST /api/v1/journeys/{id}/pause":   auth.PermJourneysWrite,
	"POST /api/v1/journeys/{id}/resume":  auth.PermJourneysWrite,
	"POST /api/v1/journeys/{id}/archive": auth.PermJourneysWrite,
	"POST /api/v1/journeys/{id}/enrol":   auth.PermJourneysEnrol,
	"POST /api/v1/journeys/{id}/migrate": auth.PermJourneysWrite,
	"GET /api/v1/tasks":                  auth.PermTasksRead,
	"GET /api/v1/surveys":                auth.PermJourneysRead,
	"POST /api/v1/surveys":               auth.PermJourneysWrite,
	"GET /api/v1/surveys/{id}":           auth.PermJourneysRead,
	"POST /api/v1/surveys/{id}/send":     auth.PermMessagesSend,
	"GET /api/v1/surveys/{id}/answers":   auth.PermProfilesRead,
	"GET /api/v1/tasks/{id}":             auth.PermTasksRead,
	"POST /api/v1/tasks/{id}/done":       auth.PermTasksWrite,
	"POST /api/v1/tasks/{id}/reopen":     auth.PermTasksWrite,

	"GET /api/v1/clienteling/customers":             auth.PermClientelingRead,   // issue 21.5
	"POST /api/v1/clienteling/customers/{id}/notes": auth.PermClientelingNotes,  // issue 21.5
	"GET /api/v1/conversations":                     auth.PermConversationsRead, // issue 21 (conv)
	"POST /api/v1/conversations":                    auth.PermConversationsWrite,
	"GET /api/v1/conversations/{id}":                auth.PermConversationsRead,
	"PATCH /api/v1/conversations/{id}":              auth.PermConversationsWrite,
	"POST /api/v1/conversations/{id}/messages":      auth.PermConversationsWrite,
	"POST /api/v1/conversations/{id}/assign":        auth.PermConversationsWrite,
	"POST /api/v1/conversations/{id}/resolve":       auth.PermConversationsWrite,
	"POST /api/v1/conversations/{id}/reopen":        auth.PermConversationsWrite,
	"POST /api/v1/conversations/{id}/merge":         auth.PermConversationsWrite,

	"GET /api/v1/measure/kpis":                  auth.PermMeasureRead,
	"GET /api/v1/measure/kpis/definitions":      auth.PermMeasureRead,
	"POST /api/v1/measure/funnel":               auth.PermMeasureRead,
	"GET /api/v1/measure/experiments/{journey}": auth.PermMeasureRead,
	"GET /api/v1/measure/cohorts":               auth.PermMeasureRead,
	"GET /api/v1/measure/attribution":           auth.PermMeasureRead,
	"GET /api/v1/measure/reports":               auth.PermMeasureRead,
	"POST /api/v1/measure/reports":              auth.PermMeasureWrite,
	"GET /api/v1/measure/reports/{id}":          auth.PermMeasureRead,
	"DELETE /api/v1/measure/reports/{id}":       auth.PermMeasureWrite,
	"GET /api/v1/measure/reports/{id}/run":      auth.PermMeasureRead,
	"GET /api/v1/measure/costs":                 auth.PermMeasureRead,
	"POST /api/v1/measure/costs":                auth.PermMeasureWrite,
	"GET /api/v1/measure/status":                auth.PermMeasureRead,
	"POST /api/v1/measure/rebuild":              auth.PermMeasureWrite,

	// People, keys, sessions, audit (docs/security.md).
	"GET /api/v1/me":                  auth.PermSelf,
	"POST /api/v1/me/totp":            auth.PermSelf,
	"POST /api/v1/logout":             auth.PermSelf,
	"POST /api/v1/logout/everywhere":  auth.PermSelf,
	"GET /api/v1/users":               auth.PermUsersRead,
	"POST /api/v1/users":              auth.PermUsersWrite,
	"GET /api/v1/users/{id}":          auth.PermUsersRead,
	"PUT /api/v1/users/{id}/role":     auth.PermUsersWrite,
	"POST /api/v1/users/{id}/disable": auth.PermUsersWrite,
	"POST /api/v1/users/{id}/enable":  auth.PermUsersWrite,
	"GET /api/v1/keys":                auth.PermKeysRead,
	"POST /api/v1/keys":               auth.PermKeysWrite,
	"GET /api/v1/keys/{id}":           auth.PermKeysRead,
	"POST /api/v1/keys/{id}/revoke":   auth.PermKeysWrite,
	"POST /api/v1/keys/{id}/rotate":   auth.PermKeysWrite,
	"GET /api/v1/audit":               auth.PermAuditRead,
	"GET /api/v1/openapi.json":        auth.PermSelf, // issue 25: the contract, for whoever is signed in

	// Any other management path answers 404 to whoever is signed in.
	"/api/v1/": auth.PermSelf,

	// Recommendations (issue 22, docs/recommend.md).
	"GET /api/v1/profiles/{id}/recommendations": auth.PermProfilesRead,
	"GET /api/v1/recommendations":               auth.PermSegmentsRead,
	"POST /api/v1/recommendations":              auth.PermSegmentsWrite,
}

// permissionUnlisted is what a management route missing from
// routePermissions asks for: only owner and admin hold it (deny by
// default).
const permissionUnlisted = auth.PermUsersWrite

// Permission returns the permission a route asks for: "" for the routes
// outside the management API (they check their own authority).
func Permission(r Route) auth.Permission {
	if r.Auth != AuthAdmin {
		return ""
	}
	if p, ok := routePermissions[r.Key()]; ok {
		return p
	}
	return permissionUnlisted
}

// Listed reports whether the route is in the permission table.
func Listed(r Route) bool {
	_, ok := routePermissions[r.Key()]
	return ok
}

// definitionPermissions are those whose writes change a definition or a
// setting: their audit entries keep the request body as after, and the
// resource as it was before.
var definitionPermissions = map[auth.Permission]bool{
	auth.PermSourcesWrite: true, auth.PermSegmentsWrite: true, auth.PermCatalogWrite: true,
	auth.PermTemplatesWrite: true, auth.PermJourneysWrite: true, auth.PermMeasureWrite: true,
	auth.PermUsersWrite: true, auth.PermKeysWrite: true,
}
