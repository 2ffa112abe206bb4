package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// NodeIDFile is the name of the file, in the data directory, that holds
// the node id: the name this process's outbox leases carry, the same
// across restarts, so that a restarted node takes its own leases back at
// once.
const NodeIDFile = "node-id"

// nodeHolder is a store that can make sure one live process at a time
// runs as a node (PostgreSQL, shared by several processes). SQLite needs
// none: serve locks the data directory, where the id lives.
type nodeHolder interface {
	HoldNode(ctx context.Context, node string) (release func(), err error)
}

var validNodeID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// ClaimNode returns this process's node id, read from dataDir/node-id or
// created there on first start (the host name and a random suffix), and,
// on a store shared by processes, holds it until release is called: a
// second live process with the same id (a data directory copied from
// another node) is refused, since each node takes back its own leases at
// start-up and it would take a live node's.
func ClaimNode(ctx context.Context, st any, dataDir string) (node string, release func(), err error) {
	node, err = ensureNodeID(dataDir)
	if err != nil {
		return "", nil, err
	}
	h, ok := st.(nodeHolder)
	if !ok {
		return node, func() {}, nil
	}
	release, err = h.HoldNode(ctx, node)
	if err != nil {
		return "", nil, fmt.Errorf("server: node %s (from %s): %w; each node needs a data directory of its own: "+
			"if this one was copied from another node, delete its %s file to get a new id",
			node, filepath.Join(dataDir, NodeIDFile), err, NodeIDFile)
	}
	return node, release, nil
}

func ensureNodeID(dataDir string) (string, error) {
	path := filepath.Join(dataDir, NodeIDFile)
	b, err := os.ReadFile(path)
	if err == nil {
		id := strings.TrimSpace(string(b))
		if !validNodeID.MatchString(id) {
			return "", fmt.Errorf("server: node id %q in %s: want 1 to 63 letters, digits, '.', '_' or '-'; delete the file to get a new one", id, path)
		}
		return id, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("server: node id: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", fmt.Errorf("server: node id: %w", err)
	}
	host, _ := os.Hostname()
	host = strings.Trim(regexp.MustCompile(`[^A-Za-z0-9.-]+`).ReplaceAllString(host, "-"), "-.")
	if len(host) > 40 {
		host = host[:40]
	}
	id := strings.ToLower(rand.Text()[:10])
	if host != "" {
		id = host + "-" + id
	}
	if err := os.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("server: node id: %w", err)
	}
	return id, nil
}
