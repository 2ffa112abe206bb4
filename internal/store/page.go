package store

// Page is a list's page-size policy: the page a caller gets when it asks
// for no particular size (a limit of 0 or less), and the largest page it
// can get. Every list an engine serves is bounded by one of the policies
// below, so that the numbers live here once and every engine pages alike.
type Page struct{ Default, Max int }

// Size returns limit bounded to [1, p.Max], p.Default when limit is 0 or
// less.
func (p Page) Size(limit int) int {
	switch {
	case limit <= 0:
		return p.Default
	case limit > p.Max:
		return p.Max
	}
	return limit
}

// The page-size policies.
var (
	// ListPage bounds the lists an API client pages through: events,
	// rejections, segment history, orders, reservations, products, the
	// consent ledger, refusals.
	ListPage = Page{Default: 100, Max: 1000}
	// FeedPage bounds the lists a person reads newest first: messages and
	// a profile's timeline.
	FeedPage = Page{Default: 50, Max: 1000}
	// ScanPage bounds the lists a process walks whole: locations (the
	// nearby search caches them all) and live profiles (exports,
	// backfills).
	ScanPage = Page{Default: 100, Max: 10000}
)
