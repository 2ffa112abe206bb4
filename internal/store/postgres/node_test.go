package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/parcours/parcours/internal/store/postgres"
)

// TestOneLiveProcessPerNode: two processes (two pools) on one database
// cannot hold the same node id; another id is free; once the first lets
// go (or dies), the id can be taken again.
func TestOneLiveProcessPerNode(t *testing.T) {
	dsn, _ := freshSchema(t)
	ctx := context.Background()
	a, b := connect(t, dsn), connect(t, dsn)
	release, err := a.HoldNode(ctx, "node-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.HoldNode(ctx, "node-1"); !errors.Is(err, postgres.ErrNodeInUse) {
		t.Fatalf("second process holding node-1: %v, want ErrNodeInUse", err)
	}
	other, err := b.HoldNode(ctx, "node-2")
	if err != nil {
		t.Fatalf("node-2: %v", err)
	}
	other()
	release()
	again, err := b.HoldNode(ctx, "node-1")
	if err != nil {
		t.Fatalf("node-1 after release: %v", err)
	}
	again()
}
