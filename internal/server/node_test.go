package server_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/server"
)

type refusingHolder struct{}

func (refusingHolder) HoldNode(context.Context, string) (func(), error) {
	return nil, errors.New("held elsewhere")
}

// TestNodeIDStaysWithTheDataDirectory: the first start writes a node id,
// later starts read the same one; a store shared by processes that finds
// it held refuses to start, saying what to do.
func TestNodeIDStaysWithTheDataDirectory(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	first, release, err := server.ClaimNode(ctx, nil, dir)
	if err != nil || first == "" {
		t.Fatalf("first start: %q, %v", first, err)
	}
	release()
	again, _, err := server.ClaimNode(ctx, nil, dir)
	if err != nil || again != first {
		t.Fatalf("restart: %q, %v; want %q", again, err, first)
	}
	if other, _, _ := server.ClaimNode(ctx, nil, t.TempDir()); other == first {
		t.Fatalf("two data directories share node id %q", first)
	}
	_, _, err = server.ClaimNode(ctx, refusingHolder{}, dir)
	if err == nil || !strings.Contains(err.Error(), first) || !strings.Contains(err.Error(), "delete its node-id file") {
		t.Fatalf("held elsewhere: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, server.NodeIDFile), []byte("bad id!\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := server.ClaimNode(ctx, nil, dir); err == nil || !strings.Contains(err.Error(), "delete the file") {
		t.Fatalf("invalid id: %v", err)
	}
}
