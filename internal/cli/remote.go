package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/config"
	"github.com/parcours/parcours/internal/server"
)

// remote are the flags of commands that talk to a running server.
type remote struct {
	Server   string `help:"URL of the running parcours serve; default: the serve running on the data directory (its server.json), else http://127.0.0.1:8080." env:"PARCOURS_SERVER" placeholder:"URL"`
	AdminKey string `help:"Admin key; default: the admin-key file of the data directory." env:"PARCOURS_ADMIN_KEY"`
}

// client returns an API client for the server: the one named, else the
// one serve recorded in the data directory.
func (r *remote) client(g *config.Globals) (*apiClient, error) {
	base, hint := r.Server, "is parcours serve running there?"
	if base == "" {
		switch s := findServer(g.DataDir); {
		case s != nil:
			base, hint = s.URL, fmt.Sprintf("parcours serve (pid %d) recorded this address in %s", s.PID, filepath.Join(s.DataDir, serverFile))
		case !dataDirExists(g.DataDir) && r.AdminKey == "":
			return nil, errors.New(whereIsTheData(g.DataDir))
		default:
			base = defaultServer
			hint = fmt.Sprintf("no parcours serve runs on the data directory %s (no %s there): start it, or pass --server", absPath(g.DataDir), serverFile)
		}
	}
	key := r.AdminKey
	if key == "" {
		var err error
		if key, err = server.ReadAdminKey(g.DataDir); err != nil {
			return nil, fmt.Errorf("%w; or pass --admin-key", err)
		}
	}
	return &apiClient{base: strings.TrimSuffix(base, "/"), key: key, hint: hint, http: &http.Client{Timeout: 10 * time.Minute}}, nil
}

// defaultServer is where serve listens by default.
const defaultServer = "http://127.0.0.1:8080"

// call sends a request and decodes a 2xx answer into out; any other
// answer becomes an error with the API's message.
func (a *apiClient) call(ctx context.Context, method, path string, body any, out any) error {
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return err
		}
	}
	return a.send(ctx, method, path, "application/json", b, out)
}

// send is call with a body already encoded as ctype.
func (a *apiClient) send(ctx context.Context, method, path, ctype string, b []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.key)
	for k, v := range a.headers {
		req.Header.Set(k, v)
	}
	if b != nil {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s%s: %w (%s)", method, a.base, path, err, a.hint)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct {
				Code, Message string
				Details       map[string]any
			} `json:"error"`
		}
		if json.Unmarshal(raw, &e) == nil && e.Error.Message != "" {
			return &apiError{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message, Details: e.Error.Details}
		}
		return fmt.Errorf("%s %s: HTTP %d", method, path, resp.StatusCode)
	}
	if w, ok := out.(io.Writer); ok {
		_, err := w.Write(raw)
		return err
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// apiError is an error the API answered: its message, with the status
// and code a command may add advice to.
type apiError struct {
	Status        int
	Code, Message string
	Details       map[string]any // the API's details: field, segment, journey, path ...
}

func (e *apiError) Error() string { return e.Message }
