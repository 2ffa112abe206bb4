package store

// RawEvent is a stored event as the store holds it: its sequence number
// and its JSON (event.Event's encoding), not decoded. Readers that need a
// few fields of many events (a model's rebuild) decode only those.
type RawEvent struct {
	Seq  int64
	Body []byte
}
