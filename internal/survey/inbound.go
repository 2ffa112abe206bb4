package survey

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/store"
)

// ReplyPrefix starts the id of a WhatsApp quick reply that answers a
// survey: "survey:9".
const ReplyPrefix = "survey:"

// TakeInbound implements message.InboundHandler: a text reply that is a
// score ("9", "9 !", "note: 8", "10/10 parfait") from a number whose
// profile has a survey pending on that channel (sent by SMS or WhatsApp,
// not expired, not answered) answers it; so does a WhatsApp quick reply
// whose id is "survey:N". Anything else is left to the next handler (the
// conversations). A provider retrying its callback finds the survey
// answered, and the text is taken again without a second answer.
func (s *Service) TakeInbound(ctx context.Context, in message.Inbound, profiles []int64) (bool, error) {
	if in.Channel != provider.SMS && in.Channel != provider.WhatsApp || len(profiles) == 0 {
		return false, nil
	}
	text := in.Body
	if id, ok := strings.CutPrefix(in.ReplyID, ReplyPrefix); ok {
		text = id
	}
	score, comment, ok := ParseReply(text)
	if !ok {
		return false, nil
	}
	at := in.At
	if at.IsZero() {
		at = s.o.Clock.Now()
	}
	var pending *store.SurveySend
	for _, p := range profiles {
		x, err := s.st.PendingSurveySend(ctx, p, string(in.Channel), at)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return false, err
		}
		if pending == nil || x.SentAt.After(pending.SentAt) {
			pending = x
		}
	}
	if pending == nil {
		return s.answeredBy(ctx, in, profiles, score, at)
	}
	lo, hi := Range(pending.Type)
	if score < lo || score > hi {
		return false, nil // "0" to a CSAT survey: not an answer to it
	}
	saved, err := s.Get(ctx, pending.SurveyID)
	if err != nil {
		return false, err
	}
	via := ViaSMS
	if in.Channel == provider.WhatsApp {
		via = ViaWhatsApp
	}
	_, err = s.answer(ctx, pending, saved.Definition, score, comment, via, at)
	var done *AlreadyAnswered
	if errors.As(err, &done) {
		return true, nil // answered between the read and the write: the same text, delivered twice
	}
	// An error (the answer stored, its announcement failed) fails the
	// callback: the provider's retry announces it (answeredBy).
	return err == nil, err
}

// answeredBy takes a text that repeats an answer already given (a
// provider retrying its callback, maybe because announcing the answer
// failed): the newest answered send on the channel with that score,
// answered by text within the hour. It announces the answer again (keyed:
// nothing counts twice) and is not passed on to customer service.
func (s *Service) answeredBy(ctx context.Context, in message.Inbound, profiles []int64, score int, at time.Time) (bool, error) {
	yes := true
	for _, p := range profiles {
		l, err := s.st.ListSurveySends(ctx, store.SurveySendQuery{ProfileID: p, Answered: &yes, Limit: 1})
		if err != nil {
			return false, err
		}
		if len(l) == 1 && l[0].Channel == string(in.Channel) && l[0].AnsweredVia != ViaLink && *l[0].Score == score &&
			at.Sub(l[0].AnsweredAt).Abs() < reannounceWithin {
			saved, err := s.Get(ctx, l[0].SurveyID)
			if err != nil {
				return false, err
			}
			return true, s.announce(ctx, l[0], saved.Definition)
		}
	}
	return false, nil
}

// replyPattern is a score reply: a few characters that are not digits
// ("note :", "Score"), the score, an optional "/10" or "/5", then the
// comment, if any.
var replyPattern = regexp.MustCompile(`^([^0-9]{0,12}?)\s*(\d{1,2})\s*(?:/\s*(?:10|5)\b)?(.*)$`)

// ParseReply reads a score from a text reply: "9", "9 !", "note: 8",
// "10/10 parfait", "  7. bien". ok is false for texts that are not one
// ("I'll come at 3pm", "12", "bonjour"): they are for customer service.
func ParseReply(text string) (score int, comment string, ok bool) {
	t := strings.TrimSpace(text)
	if t == "" || len(t) > 500 {
		return 0, "", false
	}
	m := replyPattern.FindStringSubmatch(t)
	if m == nil {
		return 0, "", false
	}
	prefix, rest := strings.ToLower(strings.TrimSpace(m[1])), m[3]
	// A prefix is a label: letters then punctuation ("note:", "score -").
	// A sentence before the number is a message.
	if prefix != "" && !labelPrefix(prefix) {
		return 0, "", false
	}
	if rest != "" && unicode.IsDigit(rune(rest[0])) {
		return 0, "", false
	}
	n, err := strconv.Atoi(m[2])
	if err != nil || n > 10 {
		return 0, "", false
	}
	comment = strings.TrimLeftFunc(rest, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) })
	comment = strings.TrimSpace(comment)
	// A number followed by a long text with more numbers is a message
	// ("3 paires commandées le 12 ..."), not a score.
	if strings.ContainsFunc(comment, unicode.IsDigit) {
		return 0, "", false
	}
	return n, comment, true
}

// labels are the words a score reply may start with.
var labels = []string{"note", "score", "nps", "csat", "ma note", "my score", "rating", "réponse", "reponse", "answer"}

func labelPrefix(p string) bool {
	p = strings.TrimRightFunc(p, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) })
	if p == "" {
		return true // punctuation only: "« 9 »", "#9"
	}
	for _, l := range labels {
		if p == l {
			return true
		}
	}
	return false
}
