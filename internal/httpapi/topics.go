package httpapi

import (
	"cmp"
	"net/http"
	"slices"

	"github.com/parcours/parcours/internal/httpjson"
	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/problem"
)

// topicLister is the pipeline's list of subscription topics.
type topicLister interface {
	Topics() map[string]message.Topic
}

// topicView is a topic as GET /api/v1/topics lists it.
type topicView struct {
	ID string `json:"id"`
	message.Topic
}

// listTopics serves GET /api/v1/topics: the message policy's
// subscription topics, which templates and journey send steps name.
func (a *API) listTopics(w http.ResponseWriter, r *http.Request) {
	tl, ok := a.messages.(topicLister)
	if !ok {
		a.fail(w, r, problem.New(problem.KindUnavailable, "unavailable", "the message pipeline does not list its topics"))
		return
	}
	out := []topicView{}
	for id, t := range tl.Topics() {
		out = append(out, topicView{ID: id, Topic: t})
	}
	slices.SortFunc(out, func(a, b topicView) int { return cmp.Compare(a.ID, b.ID) })
	httpjson.Write(w, http.StatusOK, map[string]any{"topics": out})
}
