package journey

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"
)

// MaxEventProperties bounds, in bytes of JSON, the properties of the
// enrolling event an enrolment keeps for its sends ({{ event.* }} in
// templates) and placeholders: a million waiting customers hold at most
// 4 GiB of them on disk, and typical events (an order with a few lines,
// ~600 bytes) are kept whole.
const MaxEventProperties = 4 << 10

// keptProperties returns the properties of the enrolling event that an
// enrolment keeps, and the names of those it leaves out. All of them when
// they fit in MaxEventProperties bytes of JSON; otherwise, first those the
// journey's steps refer to (refs, whatever their size: the journey needs
// them), then the others by increasing size of their value (ties by name),
// as long as the whole fits. A large value, such as a long products array,
// is thus the first left out, and the same event always keeps the same
// properties.
func keptProperties(props map[string]any, refs []string) (map[string]any, []string) {
	if len(props) == 0 {
		return nil, nil
	}
	if b, err := json.Marshal(props); err == nil && len(b) <= MaxEventProperties {
		return props, nil
	}
	type entry struct {
		name string
		size int
	}
	entries := make([]entry, 0, len(props))
	for k, v := range props {
		b, err := json.Marshal(v)
		if err != nil {
			continue
		}
		entries = append(entries, entry{k, len(k) + len(b) + 4}) // "k":v,
	}
	slices.SortFunc(entries, func(a, b entry) int { return cmp.Or(cmp.Compare(a.size, b.size), strings.Compare(a.name, b.name)) })
	kept := map[string]any{}
	size := 2
	for _, r := range refs {
		// A nested reference (product.sku) keeps only its value, under
		// its dotted name, which property reads first.
		if v := property(props, r); v != nil {
			if _, ok := kept[r]; !ok {
				b, _ := json.Marshal(v)
				kept[r] = v
				size += len(r) + len(b) + 4
			}
		}
	}
	var left []string
	for _, e := range entries {
		if _, ok := kept[e.name]; ok {
			continue
		}
		if size+e.size > MaxEventProperties {
			left = append(left, e.name)
			continue
		}
		kept[e.name] = props[e.name]
		size += e.size
	}
	slices.Sort(left)
	return kept, left
}

// eventStore is the store an event names: its store_id property, else
// the store of the point-of-sale source it came from.
func eventStore(s *seen) string {
	switch v := s.props["store_id"].(type) {
	case string:
		if v != "" {
			return v
		}
	case float64:
		return text(v)
	}
	return s.e.StoreID
}
