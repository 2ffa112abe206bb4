package eventlog

import "context"

type replayableKey struct{}

// Replayable marks ctx as carrying writes derived from the event log that
// a replay would make again: a consumer's work and its checkpoint. A store
// may commit such a write without waiting for the disk (no fsync of its
// own): the log it comes from is durable already, the write becomes
// durable with the next synchronous commit (the next append's, which
// flushes everything written before it) or the next background sync, and
// if the machine loses power first, the consumer's checkpoint goes back
// with its work and the batch is handed over again — which every Handler
// must tolerate anyway. A process crash loses nothing: the write is in the
// operating system's cache.
//
// Nothing acknowledged to a client rides on such a write; an external
// effect that follows one (a message sent, a webhook called) is preceded
// by a synchronous write of its own (a lease, a claim), which makes every
// earlier write durable before the effect.
func Replayable(ctx context.Context) context.Context {
	if IsReplayable(ctx) {
		return ctx
	}
	return context.WithValue(ctx, replayableKey{}, true)
}

// IsReplayable reports whether ctx was marked by Replayable.
func IsReplayable(ctx context.Context) bool {
	v, _ := ctx.Value(replayableKey{}).(bool)
	return v
}
