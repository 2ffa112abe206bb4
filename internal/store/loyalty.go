package store

import "github.com/parcours/parcours/internal/loyalty"

// Loyalty keeps the loyalty programme, the members' accounts and the
// points ledger. The interface is the loyalty package's own (it is the
// consumer): reads, and the transactions in which the ledger's rules
// write rows (loyalty.Tx). An engine implements rows, never rules.
type Loyalty interface {
	loyalty.Store
}
