package privacy

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/profile"
)

// ArchiveFormat names the layout of an access request's archive.
const ArchiveFormat = "parcours-dsar/1"

// Kinds describes each file of the archive but the manifest and the
// profile: what it holds, in the words a person reading it needs.
var Kinds = map[string]string{
	"identifiers":         "every identifier linked to the person: emails, phones, user ids, anonymous ids, loyalty ids, device tokens",
	"profiles":            "the profile's stored state (traits with where each came from, computed-trait aggregates), and the profiles merged into it",
	"events":              "every event received about the person, as stored in the event log",
	"timeline":            "the order of the person's events on their timeline (event time, log position)",
	"merges":              "when and why two profiles of the person were merged",
	"identity_refusals":   "identifiers Parcours refused to link to the person, and why",
	"segment_memberships": "the audiences the person is in now, since when",
	"segment_history":     "every entry into and exit from an audience",
	"journey_enrolments":  "the journeys the person is or was in, and where",
	"journey_log":         "each step a journey took for the person",
	"messages":            "every message queued or sent to the person, with its rendered contents",
	"consent_ledger":      "every consent choice the person made, with its proof",
	"consent_state":       "the person's current consent per channel and topic",
	"suppressions":        "the person's addresses Parcours must not send to (bounces, complaints, STOP)",
	"orders":              "the person's orders on every channel",
	"returns":             "the returns of those orders",
	"carts":               "the person's cart",
	"reservations":        "stock reserved in a store for the person",
	"tasks":               "tasks store staff were given about the person",
	"survey_sends":        "the surveys sent to the person and their answers (score, comment)",
	"rfm":                 "the person's recency, frequency and monetary scores",
}

// Manifest is the archive's table of contents (manifest.json).
type Manifest struct {
	Format      string         `json:"format"`
	GeneratedAt time.Time      `json:"generated_at"`
	ProfileID   int64          `json:"profile_id"`
	Profiles    []int64        `json:"profiles"` // the profile and those merged into it
	Files       []ManifestFile `json:"files"`
}

// ManifestFile is one file of the archive.
type ManifestFile struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	About  string `json:"about"`
	Count  int    `json:"count"` // records in the file
	SHA256 string `json:"sha256"`
}

// profileFile is profile.json: who the person is, as the API shows them.
type profileFile struct {
	ID          int64                    `json:"id"`
	Identifiers []identity.Identifier    `json:"identifiers"`
	Traits      map[string]profile.Trait `json:"traits"`
}

// Export writes everything Parcours holds on the person whose profile is
// id to w as a zip archive: one JSON file per kind (Kinds), profile.json,
// and manifest.json last, which lists the others with their record counts
// and checksums. The archive names the person: serve it only to them.
func (s *Service) Export(ctx context.Context, id int64, w io.Writer) (*Manifest, error) {
	person, p, err := s.Person(ctx, id)
	if err != nil {
		return nil, err
	}
	rows, err := s.Store.PersonRows(ctx, person)
	if err != nil {
		return nil, err
	}
	m := &Manifest{Format: ArchiveFormat, GeneratedAt: s.clock().Now().UTC(), ProfileID: p.ID, Profiles: person.Profiles}
	z := zip.NewWriter(w)
	add := func(name, kind, about string, count int, v any) error {
		b, err := json.MarshalIndent(v, "", " ")
		if err != nil {
			return fmt.Errorf("privacy: export %s: %w", name, err)
		}
		f, err := z.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: m.GeneratedAt})
		if err != nil {
			return fmt.Errorf("privacy: export %s: %w", name, err)
		}
		if _, err := f.Write(b); err != nil {
			return fmt.Errorf("privacy: export %s: %w", name, err)
		}
		sum := sha256.Sum256(b)
		m.Files = append(m.Files, ManifestFile{Name: name, Kind: kind, About: about, Count: count, SHA256: hex.EncodeToString(sum[:])})
		return nil
	}
	if err := add("profile.json", "profile", "who the person is: identifiers and traits", 1,
		profileFile{ID: p.ID, Identifiers: p.Identifiers, Traits: p.Traits}); err != nil {
		return nil, err
	}
	kinds := make([]string, 0, len(Kinds))
	for k := range Kinds {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		if err := add(k+".json", k, Kinds[k], len(rows[k]), rows[k]); err != nil {
			return nil, err
		}
	}
	b, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return nil, fmt.Errorf("privacy: export manifest: %w", err)
	}
	f, err := z.CreateHeader(&zip.FileHeader{Name: "manifest.json", Method: zip.Deflate, Modified: m.GeneratedAt})
	if err != nil {
		return nil, fmt.Errorf("privacy: export manifest: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		return nil, fmt.Errorf("privacy: export manifest: %w", err)
	}
	if err := z.Close(); err != nil {
		return nil, fmt.Errorf("privacy: export: %w", err)
	}
	return m, nil
}
