package httpapi

import (
	"cmp"
	"net/http"
	"slices"

	"github.com/parcours/parcours/internal/httpjson"
	"github.com/parcours/parcours/internal/message"
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
		httpjson.Error(w, http.StatusServiceUnavailable, "unavailable", "the message pipeline does not list its topics", nil)
		return
	}
	out := []topicView{}
	for id, t := range tl.Topics() {
		out = append(out, topicView{ID: id, Topic: t})
	}
	slices.SortFunc(out, func(a, b topicView) int { return cmp.Compare(a.ID, b.ID) })
	httpjson.Write(w, http.StatusOK, map[string]any{"topics": out})
}
