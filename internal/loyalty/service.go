package loyalty

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/profile"
)

// Options configure the service.
type Options struct {
	Clock  clock.Clock
	Logger *slog.Logger
	// Kick wakes the outbox relay after a write committed events (the
	// commerce service's relay delivers both); nil: it polls.
	Kick func()
	// Profiles finds the members of profile ids (the sweeps know only
	// ids); nil: their events carry no identifiers.
	Profiles interface {
		Profile(ctx context.Context, id int64) (*profile.Profile, error)
	}
}

// Service runs the ledger's rules over a store.
type Service struct {
	st  Store
	o   Options
	log *slog.Logger

	mu         sync.Mutex
	prog       *Programme
	version    int
	loadedAt   time.Time
	warnedTo   time.Time // expiry notices are announced up to here
	reviewedTo time.Time // tiers are reviewed for time passing up to here
}

// programmeTTL is how long a read programme is trusted before it is read
// again (another node may have applied a new version).
const programmeTTL = 5 * time.Second

// New returns the service over st.
func New(st Store, o Options) *Service {
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Service{st: st, o: o, log: o.Logger}
}

// Store returns the store the service writes to.
func (s *Service) Store() Store { return s.st }

// Programme returns the programme in force, or ErrNoProgramme.
func (s *Service) Programme(ctx context.Context) (*Programme, error) {
	s.mu.Lock()
	p, at := s.prog, s.loadedAt
	s.mu.Unlock()
	now := s.o.Clock.Now()
	if p != nil && now.Sub(at) < programmeTTL && !now.Before(at) {
		return p, nil
	}
	rec, err := s.st.LoyaltyProgramme(ctx)
	if errors.Is(err, problem.ErrNotFound) {
		return nil, ErrNoProgramme
	}
	if err != nil {
		return nil, err
	}
	var np Programme
	if err := json.Unmarshal(rec.Definition, &np); err != nil {
		return nil, fmt.Errorf("loyalty: stored programme %s v%d: %w", rec.ID, rec.Version, err)
	}
	if err := np.Validate(); err != nil {
		return nil, fmt.Errorf("loyalty: stored programme %s v%d: %w", rec.ID, rec.Version, err)
	}
	s.mu.Lock()
	s.prog, s.version, s.loadedAt = &np, rec.Version, now
	s.mu.Unlock()
	return &np, nil
}

// SaveProgramme validates and stores a programme; an unchanged one keeps
// its version.
func (s *Service) SaveProgramme(ctx context.Context, p *Programme) (*ProgrammeRecord, bool, error) {
	if err := p.Validate(); err != nil {
		return nil, false, err
	}
	def, err := json.Marshal(p)
	if err != nil {
		return nil, false, err
	}
	rec := &ProgrammeRecord{ID: p.ID, Definition: def, UpdatedAt: s.o.Clock.Now()}
	changed, err := s.st.SaveLoyaltyProgramme(ctx, rec)
	if err != nil {
		return nil, false, err
	}
	s.mu.Lock()
	s.prog, s.version, s.loadedAt = p, rec.Version, s.o.Clock.Now()
	s.mu.Unlock()
	return rec, changed, nil
}

// Receipt is what a write did, as a till reads it.
type Receipt struct {
	Entry    *Entry  `json:"entry,omitempty"`
	Replayed bool    `json:"replayed"`
	Balance  int64   `json:"balance"`
	Tier     string  `json:"tier,omitempty"`
	Reward   *Reward `json:"reward,omitempty"`
	// Voucher is the code of a voucher reward, derived from the entry.
	Voucher string `json:"voucher,omitempty"`
}

// run applies one posting in its own transaction (shared: group commit on
// SQLite). A write that lost the race for its cause to a concurrent one
// finds that one's entry.
func (s *Service) run(ctx context.Context, what string, shared bool, p posting) (*result, error) {
	prog, err := s.Programme(ctx)
	if err != nil {
		return nil, err
	}
	now := s.o.Clock.Now()
	var res *result
	err = s.st.LoyaltyTx(ctx, what, shared, func(ctx context.Context, tx Tx) error {
		r, err := post(ctx, tx, prog, now, p)
		res = r
		return err
	})
	if isConflict(err) {
		prior, err2 := s.st.LoyaltyEntryByCause(ctx, p.Cause)
		if err2 != nil {
			return nil, err
		}
		return replay(prior, p)
	}
	if err != nil {
		return nil, err
	}
	if res.Entry != nil && !res.Replayed {
		s.kick()
	}
	return res, nil
}

func (s *Service) kick() {
	if s.o.Kick != nil {
		s.o.Kick()
	}
}

func (s *Service) receipt(ctx context.Context, res *result) (*Receipt, error) {
	r := &Receipt{Entry: res.Entry, Replayed: res.Replayed, Balance: res.Account.Balance, Tier: res.Account.Tier}
	if res.Replayed && res.Entry != nil {
		a, err := s.st.LoyaltyAccount(ctx, res.Entry.ProfileID)
		if err != nil && !errors.Is(err, problem.ErrNotFound) {
			return nil, err
		}
		if a != nil {
			r.Balance, r.Tier = a.Balance, a.Tier
		}
	}
	return r, nil
}

// RedeemRequest is a till's (or the web shop's) redemption: a reward by
// id, or a number of points.
type RedeemRequest struct {
	Reward  string `json:"reward,omitempty"`
	Points  int64  `json:"points,omitempty"`
	StoreID string `json:"store_id,omitempty"`
	Channel string `json:"channel,omitempty"`
	Note    string `json:"note,omitempty"`
	// Key is the client's idempotency key: required, a retry with it
	// gets the first answer and spends nothing more.
	Key string `json:"-"`
}

// Redeem spends a member's points, once per key. The balance never goes
// negative: a redemption over it is an *InsufficientPointsError.
func (s *Service) Redeem(ctx context.Context, m Member, req RedeemRequest) (*Receipt, error) {
	if req.Key == "" {
		return nil, problem.Invalid("Idempotency-Key", "is required: a redemption is retried safely only with one (a UUID per redemption)")
	}
	prog, err := s.Programme(ctx)
	if err != nil {
		return nil, err
	}
	p := posting{Member: m, Kind: KindBurn, Debit: true, Points: req.Points, Cause: RequestCause("redeem", req.Key),
		Fingerprint: fingerprint(m.ProfileID, req), Reward: req.Reward, Channel: req.Channel, StoreID: req.StoreID, Note: req.Note}
	var reward *Reward
	switch {
	case req.Reward != "" && req.Points != 0:
		return nil, problem.Invalid("points", "give a reward or a number of points, not both")
	case req.Reward != "":
		rw, ok := prog.Reward(req.Reward)
		if !ok {
			return nil, problem.Invalidf("reward", "no reward %q in programme %s", req.Reward, prog.ID)
		}
		reward, p.Points = &rw, rw.Cost
		if rw.Kind == RewardTierUpgrade {
			p.TierFloor = rw.Tier
		}
	case req.Points <= 0:
		return nil, problem.Invalid("points", "must be a positive number of points (or give a reward)")
	}
	res, err := s.run(ctx, "redeem", true, p)
	if err != nil {
		return nil, err
	}
	r, err := s.receipt(ctx, res)
	if err != nil {
		return nil, err
	}
	r.Reward = reward
	if reward == nil && r.Entry.Reward != "" {
		if rw, ok := prog.Reward(r.Entry.Reward); ok {
			r.Reward = &rw
		}
	}
	if r.Reward != nil && r.Reward.Kind == RewardVoucher {
		r.Voucher = fmt.Sprintf("LOY-%d-%d", r.Entry.ProfileID, r.Entry.ID)
	}
	return r, nil
}

// EarnRequest is a till's earning: an order's lines (keyed by the order
// id, so that the receipt and the log's Order Completed earn once), or a
// number of points (an adjustment, keyed by the idempotency key; negative
// takes points back, never below zero).
type EarnRequest struct {
	OrderID string  `json:"order_id,omitempty"`
	Lines   []Line  `json:"lines,omitempty"`
	Total   float64 `json:"total,omitempty"`
	Points  int64   `json:"points,omitempty"`
	StoreID string  `json:"store_id,omitempty"`
	Channel string  `json:"channel,omitempty"`
	Note    string  `json:"note,omitempty"`
	Key     string  `json:"-"`
}

// Earn credits a member by hand or from a till.
func (s *Service) Earn(ctx context.Context, m Member, req EarnRequest) (*Receipt, error) {
	if req.Channel == "" {
		req.Channel = "store"
	}
	if len(req.Lines) > 0 || req.Total > 0 {
		if req.Points != 0 {
			return nil, problem.Invalid("points", "give an order (order_id with lines or total) or points, not both")
		}
		if req.OrderID == "" {
			return nil, problem.Invalid("order_id", "is required with lines or total: an order earns once, by its id")
		}
		res, err := s.earnOrder(ctx, m, Order{ID: req.OrderID, Channel: req.Channel, Store: req.StoreID, Lines: req.Lines, Total: req.Total})
		if err != nil {
			return nil, err
		}
		if res.Entry == nil {
			return nil, problem.Invalidf("lines", "order %s earns no points under the programme's rules", req.OrderID)
		}
		return s.receipt(ctx, res)
	}
	if req.Key == "" {
		return nil, problem.Invalid("Idempotency-Key", "is required for an adjustment: a retry must not credit twice")
	}
	if req.Points == 0 {
		return nil, problem.Invalid("points", "is required: the points to credit (negative to take back), or an order_id with lines")
	}
	p := posting{Member: m, Kind: KindAdjust, Points: req.Points, Cause: RequestCause("adjust", req.Key), Fingerprint: fingerprint(m.ProfileID, req),
		Channel: req.Channel, StoreID: req.StoreID, Note: req.Note}
	if req.Points < 0 {
		p.Points, p.Debit = -req.Points, true
	}
	res, err := s.run(ctx, "adjust", true, p)
	if err != nil {
		return nil, err
	}
	return s.receipt(ctx, res)
}

// earnOrder credits an order's points once (OrderCause). An order that
// earns nothing writes nothing.
func (s *Service) earnOrder(ctx context.Context, m Member, o Order) (*result, error) {
	prog, err := s.Programme(ctx)
	if err != nil {
		return nil, err
	}
	if prog.Enrolment == "card" && m.LoyaltyCard == "" {
		return &result{}, nil
	}
	tier := ""
	if a, err := s.st.LoyaltyAccount(ctx, m.ProfileID); err == nil {
		tier = a.Tier
	}
	pts, detail := prog.Points(o, tier)
	if pts <= 0 {
		return &result{}, nil
	}
	d, _ := json.Marshal(detail)
	return s.run(ctx, "earn", true, posting{Member: m, Kind: KindEarn, Points: pts, Cause: OrderCause(o.ID), OrderID: o.ID,
		Channel: o.Channel, StoreID: o.Store, Detail: d})
}

// fingerprint is a request's, for its idempotency key: the member and the
// body (the same key for another member is another request).
func fingerprint(member int64, v any) string {
	b, _ := json.Marshal(struct {
		Member  int64 `json:"member"`
		Request any   `json:"request"`
	}{member, v})
	return string(bytes.TrimSpace(b))
}
