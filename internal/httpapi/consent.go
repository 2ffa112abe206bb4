package httpapi

import (
	"errors"
	"net/http"

	"github.com/parcours/parcours/internal/httpjson"
	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/store"
)

func (a *API) getConsent(w http.ResponseWriter, r *http.Request) {
	id, err := profileID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	c, err := a.messages.Consent(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpjson.Write(w, http.StatusOK, c)
}

func (a *API) postConsent(w http.ResponseWriter, r *http.Request) {
	var in struct {
		message.ConsentChange
		Identifier  string `json:"identifier"`
		DoubleOptIn bool   `json:"double_opt_in"`
	}
	if err := decodeBody(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	// The key is the Idempotency-Key header or the body's "key" (the
	// ledger's key for the change): one of them, or the same.
	if h := r.Header.Get(idempotencyHeader); h != "" {
		if in.Key != "" && in.Key != h {
			a.fail(w, r, problem.Invalid("key", "differs from the Idempotency-Key header: send one of them, or the same"))
			return
		}
		in.Key = h
	}
	a.once(w, r, scopeConsent, in.Key, in, func(w http.ResponseWriter, _ attempt) {
		// The ledger holds one change per key: a run in doubt gets the
		// record the first run made.
		id, err := a.resolveProfile(r.Context(), in.ProfileID, in.Identifier)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		in.ProfileID = id
		if in.Source == "" {
			in.Source = "api"
		}
		if in.DoubleOptIn {
			// The grant counts once the customer follows the confirmation
			// link: the answer is the confirmation email (one per key).
			m, err := a.messages.RequestDoubleOptIn(r.Context(), in.ConsentChange)
			if err != nil {
				a.fail(w, r, err)
				return
			}
			httpjson.Write(w, http.StatusAccepted, map[string]any{"confirmation": m})
			return
		}
		rec, err := a.messages.RecordConsent(r.Context(), in.ConsentChange)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		httpjson.Write(w, http.StatusCreated, rec)
	})
}

// postReceipts serves POST /api/v1/receipts/{provider}: one receipt or a
// list, {"provider_id", "status", "at", "address", "code", "reason"}.
func (a *API) postReceipts(w http.ResponseWriter, r *http.Request) {
	type receipt struct {
		ProviderID string          `json:"provider_id"`
		Status     provider.Status `json:"status"`
		At         string          `json:"at"`
		Address    string          `json:"address"`
		Code       string          `json:"code"`
		Reason     string          `json:"reason"`
	}
	var in struct {
		receipt
		Receipts []receipt `json:"receipts"`
	}
	if err := decodeBody(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	list := in.Receipts
	if in.ProviderID != "" {
		list = append(list, in.receipt)
	}
	if len(list) == 0 {
		a.fail(w, r, problem.Invalid("receipts", "no receipt: give provider_id and status, or a receipts list"))
		return
	}
	handled := 0
	for i, x := range list {
		rc := provider.Receipt{Provider: r.PathValue("provider"), ProviderID: x.ProviderID, Status: x.Status,
			Address: x.Address, Code: x.Code, Reason: x.Reason}
		if x.At != "" {
			at, err := timeParam(map[string][]string{"at": {x.At}}, "at")
			if err != nil {
				a.fail(w, r, err)
				return
			}
			rc.At = at
		}
		if err := a.messages.HandleReceipt(r.Context(), rc); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				// What was not found, and how far the list got.
				p := problem.Describe(err)
				d := map[string]any{"index": i, "handled": handled}
				if named, ok := p.Details.(map[string]string); ok {
					for k, v := range named {
						d[k] = v
					}
				}
				a.fail(w, r, &problem.Error{Kind: problem.KindNotFound, Code: "not_found", Message: p.Message, Details: d})
				return
			}
			a.fail(w, r, err)
			return
		}
		handled++
	}
	httpjson.Write(w, http.StatusOK, map[string]int{"handled": handled})
}
