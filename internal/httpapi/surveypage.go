package httpapi

import (
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/survey"
)

// surveyPage serves /s/{token}: the page a survey link opens, without a
// login (the signed token is its authority), made for a phone: one tap
// on a score, an optional comment, one button. GET shows it (a score in
// ?score= is preselected, for the 0-10 buttons of an email: a mail
// scanner opening the link answers nothing); POST answers, once.
type surveyPage struct {
	s   *survey.Service
	log *slog.Logger
}

// pageText is the page's wording per language.
type pageText struct {
	Lang, Title, Low, High, CommentLabel, Send, Thanks, ThanksMore, Used, Expired, Invalid, PickScore, Retry string
}

var pageTexts = map[string]pageText{
	"fr": {Lang: "fr", Title: "Votre avis", Low: "Pas du tout", High: "Tout à fait", CommentLabel: "Un commentaire ? (facultatif)",
		Send: "Envoyer", Thanks: "Merci pour votre réponse !", ThanksMore: "Votre avis nous aide à nous améliorer.",
		Used: "Vous avez déjà répondu à ce questionnaire : merci !", Expired: "Ce questionnaire a expiré : il n'accepte plus de réponse.",
		Invalid:   "Ce lien n'est pas valide. Vérifiez qu'il est complet, ou utilisez le lien du dernier message reçu.",
		PickScore: "Choisissez une note.", Retry: "Un incident nous empêche d'enregistrer votre réponse : revenez en arrière et envoyez-la à nouveau dans un instant."},
	"en": {Lang: "en", Title: "Your opinion", Low: "Not at all", High: "Absolutely", CommentLabel: "Anything to add? (optional)",
		Send: "Send", Thanks: "Thank you for your answer!", ThanksMore: "Your opinion helps us do better.",
		Used: "You have already answered this survey: thank you!", Expired: "This survey has expired: it no longer takes answers.",
		Invalid:   "This link is not valid. Check that it is complete, or use the link in the latest message you received.",
		PickScore: "Pick a score.", Retry: "Something kept us from recording your answer: go back and send it again in a moment."},
}

func textFor(lang string) pageText {
	if t, ok := pageTexts[lang]; ok {
		return t
	}
	return pageTexts["fr"]
}

var surveyTemplate = template.Must(template.New("survey").Parse(`<!doctype html>
<html lang="{{.T.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{{.T.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:1.5rem auto;padding:0 1rem;color:#222;line-height:1.4}
h1{font-size:1.25rem}.scores{display:flex;flex-wrap:wrap;gap:.4rem;margin:1rem 0 .3rem}
.scores label{flex:1 0 2.6rem;position:relative}.scores input{position:absolute;opacity:0}
.scores span{display:block;text-align:center;padding:.7rem 0;border:1px solid #999;border-radius:.4rem;font-size:1.1rem}
.scores input:checked+span{background:#222;color:#fff;border-color:#222}.scores input:focus-visible+span{outline:2px solid #06c}
.ends{display:flex;justify-content:space-between;color:#666;font-size:.85rem}
textarea{width:100%;box-sizing:border-box;min-height:5rem;font:inherit;margin-top:.3rem}
button{margin-top:1rem;width:100%;padding:.8rem;font-size:1.05rem;border:0;border-radius:.4rem;background:#222;color:#fff}
.error{color:#b00020}</style></head>
<body>{{if .Message}}<h1>{{.Message}}</h1>{{if .More}}<p>{{.More}}</p>{{end}}{{else}}
<h1>{{.Page.Question}}</h1>
{{if .Error}}<p class="error">{{.Error}}</p>{{end}}
<form method="post">
<div class="scores" role="radiogroup">{{range .Scores}}<label><input type="radio" name="score" value="{{.}}" {{if eq . $.Selected}}checked{{end}} required><span>{{.}}</span></label>{{end}}</div>
<div class="ends"><span>{{.T.Low}}</span><span>{{.T.High}}</span></div>
<p><label for="comment">{{if .Page.Comment}}{{.Page.Comment}}{{else}}{{.T.CommentLabel}}{{end}}</label>
<textarea id="comment" name="comment" maxlength="2000">{{.Comment}}</textarea></p>
<button type="submit">{{.T.Send}}</button>
</form>{{end}}
</body></html>
`))

type surveyView struct {
	T             pageText
	Page          *survey.Page
	Scores        []int
	Selected      int
	Comment       string
	Error         string
	Message, More string
}

func (h *surveyPage) render(w http.ResponseWriter, status int, v surveyView) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := surveyTemplate.Execute(w, v); err != nil {
		h.log.Error("survey: page failed", "err", err)
	}
}

// show writes the form, or the page that says why there is none.
func (h *surveyPage) show(w http.ResponseWriter, r *http.Request, status int, selected int, comment, errMsg string) {
	p, err := h.s.Open(r.Context(), r.PathValue("token"))
	if err != nil {
		h.fail(w, err, "")
		return
	}
	v := surveyView{T: textFor(p.Language), Page: p, Selected: selected, Comment: comment, Error: errMsg}
	for i := p.Min; i <= p.Max; i++ {
		v.Scores = append(v.Scores, i)
	}
	h.render(w, status, v)
}

func (h *surveyPage) get(w http.ResponseWriter, r *http.Request) {
	selected := -1
	if n, err := strconv.Atoi(r.URL.Query().Get("score")); err == nil {
		selected = n
	}
	h.show(w, r, http.StatusOK, selected, "", "")
}

func (h *surveyPage) post(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "Bad form.", http.StatusBadRequest)
		return
	}
	comment := r.PostForm.Get("comment")
	score, err := strconv.Atoi(r.PostForm.Get("score"))
	if err != nil {
		h.show(w, r, http.StatusBadRequest, -1, comment, textFor("").PickScore)
		return
	}
	x, err := h.s.AnswerLink(r.Context(), r.PathValue("token"), score, comment)
	var invalid *problem.ValidationError
	switch {
	case errors.As(err, &invalid):
		h.show(w, r, http.StatusBadRequest, -1, comment, invalid.Reason)
		return
	case err != nil && x == nil:
		h.fail(w, err, "")
		return
	case err != nil:
		// Stored, not announced: the customer is asked to send again,
		// which announces it (survey: a repeat within the hour).
		h.log.Error("survey: announcing an answer failed; it is stored", "key", x.Key, "err", err)
		t := textFor(x.Language)
		h.render(w, http.StatusServiceUnavailable, surveyView{T: t, Message: t.Retry})
		return
	}
	t := textFor(x.Language)
	h.render(w, http.StatusOK, surveyView{T: t, Message: t.Thanks, More: t.ThanksMore})
}

// fail writes the page of a link that takes no answer: used (200: the
// customer did nothing wrong), expired (410), not valid (404).
func (h *surveyPage) fail(w http.ResponseWriter, err error, lang string) {
	var used *survey.AlreadyAnswered
	switch {
	case errors.As(err, &used):
		t := textFor(used.Send.Language)
		h.render(w, http.StatusOK, surveyView{T: t, Message: t.Used})
	case errors.Is(err, survey.ErrExpired):
		t := textFor(lang)
		h.render(w, http.StatusGone, surveyView{T: t, Message: t.Expired})
	case errors.Is(err, survey.ErrBadLink):
		t := textFor(lang)
		h.render(w, http.StatusNotFound, surveyView{T: t, Message: t.Invalid})
	default:
		h.log.Error("survey: page failed", "err", err)
		http.Error(w, "Something went wrong; please try again later.", http.StatusInternalServerError)
	}
}
