// Package config is the typed configuration shared by the commands. Every
// setting comes, in this order of precedence, from a flag, a PARCOURS_*
// environment variable, the config file (--config, YAML or JSON, keys named
// like the flags), or its default.
package config

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/alecthomas/kong"
	"gopkg.in/yaml.v3"

	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/place"
)

// Globals are the settings every command accepts.
type Globals struct {
	Config        kong.ConfigFlag `help:"Config file (YAML or JSON) whose keys are flag names, e.g. 'addr: 0.0.0.0:8080'." env:"PARCOURS_CONFIG" placeholder:"FILE"`
	DataDir       string          `help:"Data directory: the embedded database, the admin key." env:"PARCOURS_DATA_DIR" default:"./parcours-data" placeholder:"DIR"`
	Database      string          `help:"PostgreSQL URL (postgres://user@host/db). Empty: the embedded SQLite store in the data directory." env:"PARCOURS_DATABASE_URL" placeholder:"URL"`
	JSON          bool            `help:"Print machine-readable JSON instead of text."`
	LogLevel      string          `help:"Log level: debug, info, warn, error." env:"PARCOURS_LOG_LEVEL" default:"info" enum:"debug,info,warn,error"`
	LogFormat     string          `help:"Log format: text or json." env:"PARCOURS_LOG_FORMAT" default:"text" enum:"text,json"`
	IdentityRules string          `help:"Identity resolution rules (YAML): blocklist, limits per identifier kind, priority, caps. Default: the built-in rules (docs/identity.md)." env:"PARCOURS_IDENTITY_RULES" type:"existingfile" placeholder:"FILE"`
	StoresFile    string          `help:"Physical stores (YAML list of id, name, lat, lon; optionally address, time_zone, opening_hours, as commerce locations), for the nearest-store trait, near conditions and templates." env:"PARCOURS_STORES_FILE" type:"existingfile" placeholder:"FILE"`
	TimeZone      string          `help:"The brand's time zone (IANA name such as Europe/Paris): measurement counts days and periods in it. Changing it rebuilds the rollups." env:"PARCOURS_TIME_ZONE" default:"UTC" placeholder:"ZONE"`
}

// Zone returns the brand's time zone.
func (g *Globals) Zone() (*time.Location, error) {
	name := g.TimeZone
	if name == "" {
		name = "UTC"
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("--time-zone %q: %w (write an IANA name such as Europe/Paris, or UTC)", name, err)
	}
	return loc, nil
}

// Logger returns the logger the settings ask for, writing to w.
func (g *Globals) Logger(w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(g.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if g.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// FileLoader reads a YAML or JSON config file for kong, giving environment
// variables precedence over the file.
func FileLoader(r io.Reader) (kong.Resolver, error) {
	var doc any
	if err := yaml.NewDecoder(r).Decode(&doc); err != nil && err != io.EOF {
		return nil, fmt.Errorf("config file: %w", err)
	}
	js, err := toJSON(doc)
	if err != nil {
		return nil, err
	}
	res, err := kong.JSON(strings.NewReader(js))
	if err != nil {
		return nil, err
	}
	return envFirst{res}, nil
}

// envFirst skips the file for a flag whose environment variable is set:
// kong would otherwise let the file win over the environment.
type envFirst struct{ kong.Resolver }

func (r envFirst) Resolve(ctx *kong.Context, parent *kong.Path, flag *kong.Flag) (any, error) {
	for _, env := range flag.Envs {
		if _, ok := os.LookupEnv(env); ok {
			return nil, nil
		}
	}
	return r.Resolver.Resolve(ctx, parent, flag)
}

// Rules loads the identity rules the settings name.
func (g *Globals) Rules() (*identity.Rules, error) {
	if g.IdentityRules == "" {
		return identity.DefaultRules(), nil
	}
	return identity.LoadRules(g.IdentityRules)
}

// PhysicalStores loads the stores file, if any.
func (g *Globals) PhysicalStores() ([]place.Location, error) {
	if g.StoresFile == "" {
		return nil, nil
	}
	b, err := os.ReadFile(g.StoresFile)
	if err != nil {
		return nil, fmt.Errorf("stores: %w", err)
	}
	var list []place.Location
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&list); err != nil {
		return nil, fmt.Errorf("stores %s: %w", g.StoresFile, err)
	}
	for i, st := range list {
		if st.ID == "" || st.Lat < -90 || st.Lat > 90 || st.Lon < -180 || st.Lon > 180 {
			return nil, fmt.Errorf("stores %s: entry %d: needs an id and a valid lat/lon", g.StoresFile, i+1)
		}
	}
	return list, nil
}
