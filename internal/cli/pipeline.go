package cli

import (
	"github.com/parcours/parcours/internal/config"
	"github.com/parcours/parcours/internal/pipeline"
	"github.com/parcours/parcours/internal/segment"
	"github.com/parcours/parcours/internal/store"
	"path/filepath"
)

// pipelineConfig is the one configuration every command that assembles
// the stages reads (serve, replay, profiles unmerge, templates preview):
// the identity rules (--identity-rules), the physical stores (the stores
// file's and the data's locations), the brand's time zone, the behaviour
// index of the data directory, and the message settings of mf (serve's
// message flags; the zero flags give the defaults and the data
// directory's link secret). The simulator starts from globalConfig.
func pipelineConfig(e *env, g *config.Globals, st store.Store, mf *messageFlags) (pipeline.Config, error) {
	cfg, err := globalConfig(g)
	if err != nil {
		return cfg, err
	}
	if cfg.Stores, err = physicalStores(e.ctx, g, st); err != nil {
		return cfg, err
	}
	if mf == nil {
		mf = &messageFlags{}
	}
	cfg.Messages, err = mf.options(g)
	return cfg, err
}

// globalConfig is the part of the configuration the global flags give
// alone, without the data: the identity rules, the stores file's stores,
// the time zone and the behaviour index file.
func globalConfig(g *config.Globals) (pipeline.Config, error) {
	var cfg pipeline.Config
	var err error
	if cfg.Rules, err = g.Rules(); err != nil {
		return cfg, err
	}
	if cfg.Stores, err = g.PhysicalStores(); err != nil {
		return cfg, err
	}
	if cfg.Zone, err = g.Zone(); err != nil {
		return cfg, err
	}
	cfg.BehaviourIndex = segment.IndexFile(g.DataDir)
	cfg.RecommendModel = filepath.Join(g.DataDir, "recommend.model")
	return cfg, nil
}

// offlinePipeline assembles the stages over st for a command that
// rebuilds derived state while serve is stopped: the configuration serve
// reads, nothing announced (the first run did), metrics exported nowhere.
// A behaviour index that cannot be opened is an error here (serve starts
// without it). Close the pipeline when done.
func offlinePipeline(e *env, g *config.Globals, st store.Store) (*pipeline.Pipeline, error) {
	cfg, err := pipelineConfig(e, g, st, nil)
	if err != nil {
		return nil, err
	}
	p := pipeline.New(st, cfg, pipeline.Runtime{Logger: e.log})
	if err := p.IndexErr(); err != nil {
		return nil, err
	}
	return p, nil
}
