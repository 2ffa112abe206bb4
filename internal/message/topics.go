package message

// Topics returns the subscription topics of the message policy (the
// defaults when the policy names none), for the API and the CLI to check
// what definitions name.
func (p *Pipeline) Topics() map[string]Topic {
	out := make(map[string]Topic, len(p.o.Policy.Topics))
	for name, t := range p.o.Policy.Topics {
		out[name] = t
	}
	return out
}
