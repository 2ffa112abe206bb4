// Package partition splits the stages behind unify between the live nodes
// of a cluster (docs/scale.md "Partitions that respect identity").
//
// Identity resolution stays one ordered stage (unify, under the pipeline
// lease): an anonymous id and a user id first seen apart and then merged
// resolve exactly as on one node. Behind it, the Router gives every event
// of the log, once and for good, the partition of the profile it belongs
// to (Of), in PostgreSQL with its own checkpoint. Each partition is then
// read by its own consumers (a Consumer per stage, checkpoint
// "<stage>.p<n>"), run by the node that holds the partition's lease
// (Coordinator): one owner at a time per customer, in log order.
//
// A merge of two profiles of different partitions is a barrier: the
// Profile Merged event goes to the surviving profile's partition, whose
// consumer waits until the merged profile's partition has handled every
// event before it, so the merged profile's state is complete when the
// survivor takes it over.
package partition

import (
	"strconv"
	"strings"
)

// Of returns the partition of profile among n (n >= 1): a mix of its id's
// bits (ids are sequential; the mix spreads neighbours), modulo n.
// Profile 0 (events without a profile) goes to partition 0.
func Of(profile int64, n int) int {
	if n <= 1 || profile == 0 {
		return 0
	}
	x := uint64(profile)
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return int(x % uint64(n))
}

// Name returns the checkpoint name of stage's consumer of partition part:
// "segment.p3". PostgreSQL refuses such a checkpoint from a node that does
// not hold the partition (migration 0025).
func Name(stage string, part int) string { return stage + ".p" + strconv.Itoa(part) }

// Parse splits a partition's checkpoint name; ok false if name is not one.
func Parse(name string) (stage string, part int, ok bool) {
	i := strings.LastIndex(name, ".p")
	if i < 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(name[i+2:])
	if err != nil || n < 0 {
		return "", 0, false
	}
	return name[:i], n, true
}

// Assign returns the node that should hold each partition among the live
// nodes (sorted): partition p goes to nodes[p mod len(nodes)], so that the
// partitions are shared evenly and every node computes the same answer
// from the same list. nil without nodes.
func Assign(nodes []string, partitions int) []string {
	if len(nodes) == 0 {
		return nil
	}
	out := make([]string, partitions)
	for p := range out {
		out[p] = nodes[p%len(nodes)]
	}
	return out
}
