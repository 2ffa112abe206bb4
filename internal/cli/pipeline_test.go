package cli

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/parcours/parcours/internal/config"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/pipeline"
)

// TestOneConfigurationForEveryAssembly: serve, the offline rebuilds
// (replay, profiles unmerge) and the journey simulator assemble their
// stages from the same configuration: the same identity rules, physical
// stores, time zone and behaviour index (the simulator keeps its index in
// memory, in its temporary store).
func TestOneConfigurationForEveryAssembly(t *testing.T) {
	data, dir := t.TempDir(), t.TempDir()
	rules := filepath.Join(dir, "rules.yaml")
	os.WriteFile(rules, []byte("blocklist: [kiosk]\nlimits: {email: 2}\n"), 0o600)
	stores := filepath.Join(dir, "stores.yaml")
	os.WriteFile(stores, []byte("- {id: lyon, name: Lyon Bellecour, lat: 45.7578, lon: 4.8320}\n"), 0o600)
	g := &config.Globals{DataDir: data, IdentityRules: rules, StoresFile: stores, TimeZone: "Europe/Paris"}
	e := &env{ctx: context.Background(), stdout: io.Discard, stderr: io.Discard, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	st, err := openOrCreate(e.ctx, g, e)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	serve, closeProviders, err := (&serveCmd{LowStock: 3}).options(e, g, st)
	if err != nil {
		t.Fatal(err)
	}
	defer closeProviders()
	offline, err := offlinePipeline(e, g, st)
	if err != nil {
		t.Fatal(err)
	}
	defer offline.Close()
	simulated, err := (&journeyTestCmd{}).options(g)
	if err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]pipeline.Config{"serve": serve.Config, "offline": offline.Config(), "simulator": simulated.Config} {
		t.Run(name, func(t *testing.T) {
			if cfg.Rules == nil {
				t.Fatal("no identity rules: the defaults would be taken")
			}
			if _, why := cfg.Rules.Normalize(identity.Raw{Kind: identity.UserID, Value: "kiosk"}); why == "" {
				t.Errorf("kiosk is not blocklisted: the rules file was not read")
			}
			if cfg.Rules.Limits[identity.Email] != 2 {
				t.Errorf("email limit %d, want the file's 2", cfg.Rules.Limits[identity.Email])
			}
			if len(cfg.Stores) != 1 || cfg.Stores[0].ID != "lyon" {
				t.Errorf("stores %+v, want the stores file's", cfg.Stores)
			}
			if cfg.Zone == nil || cfg.Zone.String() != "Europe/Paris" {
				t.Errorf("zone %v, want Europe/Paris", cfg.Zone)
			}
			if name != "simulator" && cfg.BehaviourIndex != filepath.Join(data, "behaviour.idx") {
				t.Errorf("behaviour index %q, want the data directory's", cfg.BehaviourIndex)
			}
		})
	}
	if !slices.Equal(serve.Config.Messages.Secret, offline.Config().Messages.Secret) || len(serve.Config.Messages.Secret) == 0 {
		t.Errorf("serve and the offline commands sign links with different secrets")
	}
}
