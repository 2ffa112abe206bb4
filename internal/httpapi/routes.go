package httpapi

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/parcours/parcours/internal/collect"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/httpjson"
	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/message/providers"
	"github.com/parcours/parcours/internal/openapi"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/store"
)

// Auth is what lets a request through to a route.
type Auth string

// The kinds of authority a route asks for.
const (
	// AuthNone: anyone (health, metrics, the fallbacks).
	AuthNone Auth = "none"
	// AuthWriteKey: a source's write key, as the HTTP Basic user name or
	// writeKey in the body (the tracking API checks it itself).
	AuthWriteKey Auth = "write key"
	// AuthAdmin: an API key (Authorization: Bearer KEY) or a console
	// session whose role grants the route's permission (Permission).
	AuthAdmin Auth = "API key or session"
	// AuthLink: the signed token in the URL of a link Parcours sent.
	AuthLink Auth = "signed link"
	// AuthProvider: the provider's own signature on its callback.
	AuthProvider Auth = "provider signature"
	// AuthPassword: a user's email and password (and TOTP code), which
	// the login route checks itself, rate-limited per address.
	AuthPassword Auth = "password"
	// AuthVisitor: the web chat's visitor token (Authorization: Bearer),
	// given for a source's write key; rate-limited per address.
	AuthVisitor Auth = "chat visitor token"
	// AuthConsole: the console's pages, which send to their sign-in page
	// without a session (or a key signed in with), and then call the
	// management API in process with it: the API checks each call.
	AuthConsole Auth = "console sign-in"
)

// Route is one HTTP endpoint: what it answers, who may call it, what
// serves it, and what it is for in one line.
type Route struct {
	Method  string
	Pattern string
	Auth    Auth
	Handler http.HandlerFunc
	About   string
	// AnyMethod registers the pattern for every method: the handler
	// answers the others itself (the tracking API: CORS preflight, 405;
	// the fallbacks: 404). Method is then the one the route is for.
	AnyMethod bool
}

// Key is how the route is registered on the ServeMux and written in the
// docs: "GET /api/v1/sources", or the bare pattern when it takes any
// method.
func (r Route) Key() string {
	if r.AnyMethod || r.Method == "" {
		return r.Pattern
	}
	return r.Method + " " + r.Pattern
}

// Edge is what the route table serves besides the management API: the
// parts the server wires.
type Edge struct {
	// Tracking is the tracking API's handler (collect).
	Tracking *collect.Handler
	// Public is what the links in messages call (the message pipeline).
	Public Tracking
	// Hook serves one provider callback route.
	Hook func(providers.Hook) http.HandlerFunc
	// Metrics, Health and Ready are the operations endpoints.
	Metrics, Health, Ready http.HandlerFunc
	// Console serves the web app under /console/ and ConsoleRoot its front
	// door, GET / (internal/console); nil: no console.
	Console     http.Handler
	ConsoleRoot http.HandlerFunc
}

// Routes is every HTTP endpoint of Parcours, in one table: the tracking
// API, the management API, the public pages of messages, the providers'
// callbacks, and the operations endpoints. Mux registers it on the
// standard ServeMux; docs/api.md lists it, and a test checks that it lists
// every route and that every route is requested by a test.
func Routes(a *API, e Edge) []Route {
	p := &public{t: e.Public, log: a.log}
	sp := &surveyPage{s: a.surveys, log: a.log}
	t := e.Tracking
	rs := []Route{
		// The tracking API (Segment's HTTP API; docs/ingestion.md).
		{"POST", "/v1/track", AuthWriteKey, t.Calls(event.Track).ServeHTTP, "one track call: an event the customer did", true},
		{"POST", "/v1/t", AuthWriteKey, t.Calls(event.Track).ServeHTTP, "track, as analytics.js abbreviates it", true},
		{"POST", "/v1/identify", AuthWriteKey, t.Calls(event.Identify).ServeHTTP, "one identify call: who the customer is, their traits", true},
		{"POST", "/v1/i", AuthWriteKey, t.Calls(event.Identify).ServeHTTP, "identify, abbreviated", true},
		{"POST", "/v1/page", AuthWriteKey, t.Calls(event.Page).ServeHTTP, "one page view", true},
		{"POST", "/v1/p", AuthWriteKey, t.Calls(event.Page).ServeHTTP, "page, abbreviated", true},
		{"POST", "/v1/screen", AuthWriteKey, t.Calls(event.Screen).ServeHTTP, "one screen view in an app", true},
		{"POST", "/v1/s", AuthWriteKey, t.Calls(event.Screen).ServeHTTP, "screen, abbreviated", true},
		{"POST", "/v1/group", AuthWriteKey, t.Calls(event.Group).ServeHTTP, "one group call: the customer's company or household", true},
		{"POST", "/v1/g", AuthWriteKey, t.Calls(event.Group).ServeHTTP, "group, abbreviated", true},
		{"POST", "/v1/alias", AuthWriteKey, t.Calls(event.Alias).ServeHTTP, "one alias call: two ids of one customer", true},
		{"POST", "/v1/a", AuthWriteKey, t.Calls(event.Alias).ServeHTTP, "alias, abbreviated", true},
		{"POST", "/v1/batch", AuthWriteKey, t.Calls("").ServeHTTP, "a batch of calls of any type", true},
		{"POST", "/v1/b", AuthWriteKey, t.Calls("").ServeHTTP, "batch, abbreviated", true},
		{"POST", "/v1/import", AuthWriteKey, t.Calls("").ServeHTTP, "a batch of historical calls (Segment's import)", true},
		{"", "/v1/", AuthNone, collect.NoSuchEndpoint, "any other tracking path: 404 listing the tracking API", true},
		// What the browser SDKs fetch before they send, and RudderStack's
		// beacon sends (docs/ingestion.md, "Web and mobile").
		{"GET", "/v1/projects/{writeKey}/settings", AuthWriteKey, t.SegmentSettings, "analytics.js 2.0's settings for a write key: send events here", true},
		{"GET", "/sourceConfig/", AuthWriteKey, t.RudderSourceConfig, "RudderStack JavaScript SDK's source config for a write key", true},
		{"POST", "/beacon/v1/batch", AuthWriteKey, t.Beacon().ServeHTTP, "a batch sent by navigator.sendBeacon, the write key in ?writeKey=", true},

		// The management API: sources, events, profiles, segments (docs/api.md).
		{"GET", "/api/v1/sources", AuthAdmin, a.listSources, "the sources with their write keys", false},
		{"POST", "/api/v1/sources", AuthAdmin, a.createSource, "create a source and its write key", false},
		{"GET", "/api/v1/sources/{id}", AuthAdmin, a.getSource, "one source, by id or name", false},
		{"POST", "/api/v1/sources/{id}/disable", AuthAdmin, a.disableSource, "refuse a source's write key from now on", false},
		{"GET", "/api/v1/events", AuthAdmin, a.listEvents, "the event log, filtered and paged", false},
		{"GET", "/api/v1/rejections", AuthAdmin, a.listRejections, "the events refused or corrected on ingestion", false},
		{"GET", "/api/v1/profiles", AuthAdmin, a.findProfiles, "find a profile by any identifier", false},
		{"GET", "/api/v1/profiles/{id}", AuthAdmin, a.getProfile, "one profile: identifiers, traits, computed traits, consent", false},
		{"GET", "/api/v1/profiles/{id}/timeline", AuthAdmin, a.getTimeline, "a profile's events, newest first", false},
		{"GET", "/api/v1/profiles/{id}/merges", AuthAdmin, a.getMerges, "a profile's merge log and refused identifiers", false},
		{"POST", "/api/v1/profiles/{id}/unmerge", AuthAdmin, a.unmerge, "undo a merge and rebuild what followed from it", false},
		{"GET", "/api/v1/profiles/{id}/export", AuthAdmin, a.exportProfile, "an access request's archive: everything held on the person (zip of JSON, manifest)", false},
		{"DELETE", "/api/v1/profiles/{id}", AuthAdmin, a.eraseProfile, "erase a person: their data removed or anonymised everywhere, the log included", false},
		{"DELETE", "/api/v1/profiles", AuthAdmin, a.eraseByIdentifier, "erase whoever holds an identifier (?email=, ?phone=, ?identifier=kind:value)", false},
		{"GET", "/api/v1/erasures", AuthAdmin, a.listErasures, "the erasures made, newest first (they name nobody)", false},
		{"POST", "/api/v1/retention/run", AuthAdmin, a.runRetention, "apply the retention policy now and say what it removed", false},
		{"GET", "/api/v1/segments", AuthAdmin, a.listSegments, "the segments with their counts", false},
		{"POST", "/api/v1/segments", AuthAdmin, a.saveSegments, "create or change segments (YAML or JSON)", false},
		{"POST", "/api/v1/segments/preview", AuthAdmin, a.previewSegment, "count and sample who a definition would hold", false},
		{"GET", "/api/v1/segments/{id}", AuthAdmin, a.getSegment, "one segment's definition and count", false},
		{"POST", "/api/v1/segments/{id}/archive", AuthAdmin, a.archiveSegment, "stop evaluating a segment", false},
		{"GET", "/api/v1/segments/{id}/members", AuthAdmin, a.segmentMembers, "a segment's members, paged", false},
		{"GET", "/api/v1/segments/{id}/counts", AuthAdmin, a.segmentCounts, "a segment's size over time", false},
		{"GET", "/api/v1/segments/{id}/history", AuthAdmin, a.segmentHistory, "a segment's entries and exits", false},

		// Commerce (docs/commerce.md).
		{"GET", "/api/v1/products", AuthAdmin, a.commerceOnly(a.listProducts), "the catalog, paged", false},
		{"GET", "/api/v1/products/{id}", AuthAdmin, a.commerceOnly(a.getProduct), "one product with its variants", false},
		{"PUT", "/api/v1/products/{id}", AuthAdmin, a.commerceOnly(a.putProduct), "create or replace a product", false},
		{"GET", "/api/v1/locations", AuthAdmin, a.commerceOnly(a.listLocations), "the stores and warehouses", false},
		{"GET", "/api/v1/locations/{id}", AuthAdmin, a.commerceOnly(a.getLocation), "one location", false},
		{"PUT", "/api/v1/locations/{id}", AuthAdmin, a.commerceOnly(a.putLocation), "create or replace a location", false},
		{"GET", "/api/v1/stock/{sku}", AuthAdmin, a.commerceOnly(a.getStock), "a SKU's stock at every location", false},
		{"PUT", "/api/v1/stock/{sku}/{location}", AuthAdmin, a.commerceOnly(a.putStock), "set a SKU's stock at a location", false},
		{"GET", "/api/v1/stock/{sku}/nearby", AuthAdmin, a.commerceOnly(a.nearby), "the nearest locations with a SKU in stock", false},
		{"POST", "/api/v1/stock/adjustments", AuthAdmin, a.commerceOnly(a.adjustStock), "adjust stock by deltas, once per key", false},
		{"POST", "/api/v1/reservations", AuthAdmin, a.commerceOnly(a.createReservation), "reserve stock for a customer", false},
		{"GET", "/api/v1/reservations", AuthAdmin, a.commerceOnly(a.listReservations), "the reservations, filtered and paged", false},
		{"GET", "/api/v1/reservations/{id}", AuthAdmin, a.commerceOnly(a.getReservation), "one reservation", false},
		{"POST", "/api/v1/reservations/{id}/release", AuthAdmin, a.commerceOnly(a.releaseReservation), "give a reservation's stock back", false},
		{"POST", "/api/v1/orders", AuthAdmin, a.commerceOnly(a.createOrder), "place an order on any channel", false},
		{"GET", "/api/v1/orders", AuthAdmin, a.commerceOnly(a.listOrders), "the orders, filtered and paged", false},
		{"GET", "/api/v1/orders/{id}", AuthAdmin, a.commerceOnly(a.getOrder), "one order", false},
		{"POST", "/api/v1/orders/{id}/transitions", AuthAdmin, a.commerceOnly(a.transitionOrder), "move an order to its next status", false},
		{"POST", "/api/v1/orders/{id}/returns", AuthAdmin, a.commerceOnly(a.createReturn), "return some of an order's lines", false},
		{"GET", "/api/v1/orders/{id}/returns", AuthAdmin, a.commerceOnly(a.listReturns), "an order's returns", false},
		{"GET", "/api/v1/carts/{customer}", AuthAdmin, a.commerceOnly(a.getCart), "a customer's cart", false},
		{"PUT", "/api/v1/carts/{customer}", AuthAdmin, a.commerceOnly(a.putCart), "replace a customer's cart, at its version", false},

		// Messages, templates, consent (docs/messages.md).
		{"GET", "/api/v1/templates", AuthAdmin, a.withMessages(a.listTemplates), "the message templates", false},
		{"POST", "/api/v1/templates", AuthAdmin, a.withMessages(a.saveTemplate), "create a template", false},
		{"GET", "/api/v1/templates/{id}", AuthAdmin, a.withMessages(a.getTemplate), "one template", false},
		{"PUT", "/api/v1/templates/{id}", AuthAdmin, a.withMessages(a.saveTemplate), "create or replace a template", false},
		{"DELETE", "/api/v1/templates/{id}", AuthAdmin, a.withMessages(a.deleteTemplate), "delete a template", false},
		{"POST", "/api/v1/templates/{id}/preview", AuthAdmin, a.withMessages(a.previewTemplate), "render a template for a profile", false},
		{"POST", "/api/v1/messages", AuthAdmin, a.withMessages(a.sendMessage), "send one message, once per idempotency key", false},
		{"POST", "/api/v1/messages/batch", AuthAdmin, a.withMessages(a.sendBatch), "send up to 1,000 messages, each once per its idempotency key, each with its result", false},
		{"GET", "/api/v1/messages/{id}", AuthAdmin, a.withMessages(a.getMessage), "one message and its outcome", false},
		{"GET", "/api/v1/profiles/{id}/messages", AuthAdmin, a.withMessages(a.profileMessages), "a profile's messages, newest first", false},
		{"GET", "/api/v1/profiles/{id}/consent", AuthAdmin, a.withMessages(a.getConsent), "a profile's consent per channel and topic", false},
		// Recommendations (docs/recommend.md).
		{"GET", "/api/v1/profiles/{id}/recommendations", AuthAdmin, a.recommendationsOnly(a.profileRecommendations), "products to propose to a customer: a named recommendation or strategy, available in a store, online or nearest, with price, media and a tagged link", false},
		{"GET", "/api/v1/recommendations", AuthAdmin, a.recommendationsOnly(a.listRecommendations), "the named recommendations (built-in and saved), the strategies and the model's size", false},
		{"POST", "/api/v1/recommendations", AuthAdmin, a.recommendationsOnly(a.saveRecommendations), "save named recommendations (kind: recommendation files: strategy, filters, weights)", false},
		{"POST", "/api/v1/consent", AuthAdmin, a.withMessages(a.postConsent), "record a consent change, or ask for a double opt-in", false},
		{"POST", "/api/v1/receipts/{provider}", AuthAdmin, a.withMessages(a.postReceipts), "record delivery receipts a provider reported elsewhere", false},
		{"GET", "/api/v1/topics", AuthAdmin, a.withMessages(a.listTopics), "the message topics", false},

		// Journeys (docs/journeys.md) and the tasks their steps create.
		{"GET", "/api/v1/journeys", AuthAdmin, a.journeysOnly(a.listJourneys), "the journeys with their enrolment counts", false},
		{"POST", "/api/v1/journeys", AuthAdmin, a.journeysOnly(a.saveJourneys), "create or change journeys (YAML or JSON)", false},
		{"GET", "/api/v1/journeys/{id}", AuthAdmin, a.journeysOnly(a.getJourney), "one journey, at its latest or a given version", false},
		{"GET", "/api/v1/journeys/{id}/stats", AuthAdmin, a.journeysOnly(a.journeyStats), "a journey's enrolments and outcomes per step", false},
		{"POST", "/api/v1/journeys/{id}/pause", AuthAdmin, a.journeysOnly(a.journeyStatus(journey.StatusPaused)), "pause a journey", false},
		{"POST", "/api/v1/journeys/{id}/resume", AuthAdmin, a.journeysOnly(a.journeyStatus(journey.StatusLive)), "resume a paused journey", false},
		{"POST", "/api/v1/journeys/{id}/archive", AuthAdmin, a.journeysOnly(a.journeyStatus(journey.StatusArchived)), "end a journey", false},
		{"POST", "/api/v1/journeys/{id}/enrol", AuthAdmin, a.journeysOnly(a.enrol), "enrol a customer by hand", false},
		{"POST", "/api/v1/journeys/{id}/migrate", AuthAdmin, a.journeysOnly(a.migrate), "move enrolments from an old version to the latest", false},
		{"GET", "/api/v1/tasks", AuthAdmin, a.listTasks, "the tasks for store staff, paged", false},
		{"GET", "/api/v1/tasks/{id}", AuthAdmin, a.getTask, "one task", false},
		{"POST", "/api/v1/tasks/{id}/done", AuthAdmin, a.taskStatus(store.TaskDone), "mark a task done", false},
		{"POST", "/api/v1/tasks/{id}/reopen", AuthAdmin, a.taskStatus(store.TaskOpen), "reopen a task", false},

		// Clienteling: the store associate's customer card (docs/clienteling.md).
		{"GET", "/api/v1/clienteling/customers", AuthAdmin, a.clientelingOnly(a.findCustomer), "the customer in front of an associate, found by phone, email, card or a scanned code: their whole card in one call", false},
		{"POST", "/api/v1/clienteling/customers/{id}/notes", AuthAdmin, a.clientelingOnly(a.addCustomerNote), "an associate's note on the customer's timeline (Store Note Added)", false},
		// Surveys (docs/surveys.md).
		{"GET", "/api/v1/surveys", AuthAdmin, a.surveysOnly(a.listSurveys), "the NPS and CSAT surveys", false},
		{"POST", "/api/v1/surveys", AuthAdmin, a.surveysOnly(a.saveSurveys), "create or change surveys (JSON)", false},
		{"GET", "/api/v1/surveys/{id}", AuthAdmin, a.surveysOnly(a.getSurvey), "one survey", false},
		{"POST", "/api/v1/surveys/{id}/send", AuthAdmin, a.surveysOnly(a.sendSurvey), "send a survey to a profile after a contact, once per key", false},
		{"GET", "/api/v1/surveys/{id}/answers", AuthAdmin, a.surveysOnly(a.surveyAnswers), "a survey's answers, newest first", false},
		// Loyalty: the programme, the points ledger, the tills' API (docs/loyalty.md).
		{"GET", "/api/v1/loyalty/programme", AuthAdmin, a.loyaltyOnly(a.getProgramme), "the loyalty programme in force", false},
		{"POST", "/api/v1/loyalty/programme", AuthAdmin, a.loyaltyOnly(a.saveProgramme), "apply a loyalty programme (JSON; kind: loyalty files through parcours apply)", false},
		{"GET", "/api/v1/loyalty/liability", AuthAdmin, a.loyaltyOnly(a.liability), "points outstanding × value, members, active and redemption rates, for finance", false},
		{"GET", "/api/v1/loyalty/{identifier}/statement", AuthAdmin, a.loyaltyOnly(a.statement), "a member's balance, tier, points expiring and entries, found by card, phone, email or user id", false},
		{"POST", "/api/v1/loyalty/{identifier}/redeem", AuthAdmin, a.loyaltyOnly(a.redeem), "spend a member's points on a reward, once per Idempotency-Key; never below zero", false},
		{"POST", "/api/v1/loyalty/{identifier}/earn", AuthAdmin, a.loyaltyOnly(a.earn), "credit a till's order (once per order id) or an adjustment (once per Idempotency-Key)", false},
		// Conversations: customer service across channels (docs/serve.md).
		{"GET", "/api/v1/conversations", AuthAdmin, a.conversationsOnly(a.listConversations), "the conversations: queues by status, team, store, assignee; search by customer or text", false},
		{"POST", "/api/v1/conversations", AuthAdmin, a.conversationsOnly(a.createConversation), "a phone or store note about a customer, in their conversation (opened if none)", false},
		{"GET", "/api/v1/conversations/{id}", AuthAdmin, a.conversationsOnly(a.getConversation), "one conversation with its messages and delivery statuses", false},
		{"PATCH", "/api/v1/conversations/{id}", AuthAdmin, a.conversationsOnly(a.patchConversation), "change a conversation's tags, priority, team or store", false},
		{"POST", "/api/v1/conversations/{id}/messages", AuthAdmin, a.conversationsOnly(a.replyConversation), "answer the customer (email, SMS, WhatsApp, chat) or add a note", false},
		{"POST", "/api/v1/conversations/{id}/assign", AuthAdmin, a.conversationsOnly(a.assignConversation), "assign a conversation to someone, or to the next agent in turn", false},
		{"POST", "/api/v1/conversations/{id}/resolve", AuthAdmin, a.conversationsOnly(a.conversationStatus(store.ConversationResolved)), "resolve a conversation", false},
		{"POST", "/api/v1/conversations/{id}/reopen", AuthAdmin, a.conversationsOnly(a.conversationStatus(store.ConversationOpen)), "reopen a conversation", false},
		{"POST", "/api/v1/conversations/{id}/merge", AuthAdmin, a.conversationsOnly(a.mergeConversation), "merge a conversation into another of the same customer", false},

		// The web chat a site's widget talks to (docs/serve.md).
		{"POST", "/api/v1/chat/sessions", AuthVisitor, a.chatRoute("POST", a.startChat), "start a web chat: a visitor token for the site's widget", true},
		{"POST", "/api/v1/chat/messages", AuthVisitor, a.chatRoute("POST", a.chatSay), "what the visitor writes in the chat", true},
		{"GET", "/api/v1/chat/lines", AuthVisitor, a.chatRoute("GET", a.chatLines), "the chat's lines after the widget's last", true},

		// Measure (docs/measure.md).
		{"GET", "/api/v1/measure/kpis", AuthAdmin, a.measureKPIs, "KPIs over a period, compared with the one before", false},
		{"GET", "/api/v1/measure/kpis/definitions", AuthAdmin, a.measureKPIDefinitions, "what each KPI counts", false},
		{"POST", "/api/v1/measure/funnel", AuthAdmin, a.measureFunnel, "a funnel with its friction points", false},
		{"GET", "/api/v1/measure/experiments/{journey}", AuthAdmin, a.measureExperiment, "a journey's experiment: arms, lift, confidence", false},
		{"GET", "/api/v1/measure/cohorts", AuthAdmin, a.measureCohorts, "retention by cohort", false},
		{"GET", "/api/v1/measure/attribution", AuthAdmin, a.measureAttribution, "revenue attributed to touchpoints", false},
		{"GET", "/api/v1/measure/reports", AuthAdmin, a.listMeasureReports, "the saved reports", false},
		{"POST", "/api/v1/measure/reports", AuthAdmin, a.saveMeasureReports, "save reports (YAML or JSON)", false},
		{"GET", "/api/v1/measure/reports/{id}", AuthAdmin, a.getMeasureReport, "one saved report", false},
		{"DELETE", "/api/v1/measure/reports/{id}", AuthAdmin, a.deleteMeasureReport, "delete a saved report", false},
		{"GET", "/api/v1/measure/reports/{id}/run", AuthAdmin, a.runMeasureReport, "run a saved report", false},
		{"GET", "/api/v1/measure/costs", AuthAdmin, a.measureCosts, "the imported marketing costs", false},
		{"POST", "/api/v1/measure/costs", AuthAdmin, a.importCosts, "import marketing costs (CSV)", false},
		{"GET", "/api/v1/measure/status", AuthAdmin, a.measureStatus, "how far the measure stage is behind the log", false},
		{"POST", "/api/v1/measure/rebuild", AuthAdmin, a.measureRebuild, "rebuild the measure rollups from the log", false},
		// People, keys, sessions, audit (docs/security.md).
		{"POST", "/api/v1/login", AuthPassword, a.login, "log in with email, password (and TOTP code): the session cookie", false},
		{"GET", "/api/v1/me", AuthAdmin, a.me, "who the key or session is, its permissions, its CSRF token", false},
		{"POST", "/api/v1/me/totp", AuthAdmin, a.enrolTOTP, "enrol the signed-in user's authenticator app", false},
		{"POST", "/api/v1/logout", AuthAdmin, a.logout, "end this session", false},
		{"POST", "/api/v1/logout/everywhere", AuthAdmin, a.logoutEverywhere, "end every session of the signed-in user", false},
		{"GET", "/api/v1/users", AuthAdmin, a.listUsers, "the users", false},
		{"POST", "/api/v1/users", AuthAdmin, a.createUser, "create a user with a role (and stores)", false},
		{"GET", "/api/v1/users/{id}", AuthAdmin, a.getUser, "one user, by id or email", false},
		{"PUT", "/api/v1/users/{id}/role", AuthAdmin, a.setUserRole, "change a user's role and stores", false},
		{"POST", "/api/v1/users/{id}/disable", AuthAdmin, a.userStatus(true), "disable a user and end their sessions", false},
		{"POST", "/api/v1/users/{id}/enable", AuthAdmin, a.userStatus(false), "enable a user again, and unlock them", false},
		{"GET", "/api/v1/keys", AuthAdmin, a.listKeys, "the API keys (never their secrets)", false},
		{"POST", "/api/v1/keys", AuthAdmin, a.createKey, "create an API key with a role, stores, expiry: shown once", false},
		{"GET", "/api/v1/keys/{id}", AuthAdmin, a.getKey, "one API key", false},
		{"POST", "/api/v1/keys/{id}/revoke", AuthAdmin, a.revokeKey, "revoke an API key", false},
		{"POST", "/api/v1/keys/{id}/rotate", AuthAdmin, a.rotateKey, "a new secret for an API key: shown once", false},
		{"GET", "/api/v1/audit", AuthAdmin, a.listAudit, "the audit log, filtered and paged", false},
		{"GET", "/api/v1/openapi.json", AuthAdmin, openapi.Serve, "this API's OpenAPI 3.1 contract (docs/api.md)", false},
		{"", "/api/v1/", AuthAdmin, a.noSuchEndpoint, "any other management path: 404 naming it (after the admin key)", true},

		// What customers reach from messages (docs/messages.md).
		{"GET", "/t/c/{token}", AuthLink, p.click, "a click: record it, redirect to the link's target", false},
		{"GET", "/t/o/{file}", AuthLink, p.open, "the open pixel: record the open", false},
		{"GET", "/u/{token}", AuthLink, p.page, "the preference page", false},
		{"POST", "/u/{token}", AuthLink, p.post, "one-click unsubscribe (RFC 8058) or the preference form", false},
		{"GET", "/c/{token}", AuthLink, p.confirmPage, "the double opt-in confirmation page", false},
		{"POST", "/c/{token}", AuthLink, p.confirm, "confirm a double opt-in", false},
		{"GET", "/s/{token}", AuthLink, a.surveysOnly(sp.get), "a survey's page: the question, the scores, a comment", false},
		{"POST", "/s/{token}", AuthLink, a.surveysOnly(sp.post), "answer a survey, once per link", false},
		{"GET", "/r/{profile}/{product}/{name}/{sig}", AuthLink, a.recommendationsOnly(a.followRecommendation), "a recommended product's short link (an SMS's): record the click, redirect to the product's tagged page", false},
	}
	// The providers' callbacks, one route per callback of each provider
	// type (internal/message/providers declares them with the type).
	for _, hk := range providers.Hooks() {
		rs = append(rs, Route{Method: hk.Method, Pattern: "/hooks/" + hk.Type + "/{name}" + hk.Path, Auth: AuthProvider,
			Handler: e.Hook(hk), About: hookAbout(hk), AnyMethod: hk.Method == ""})
	}
	if e.Console != nil {
		rs = append(rs,
			Route{"GET", "/{$}", AuthNone, e.ConsoleRoot, "the console's front door: redirects to /console/", false},
			Route{"", "/console/", AuthConsole, e.Console.ServeHTTP, "the console: web pages for marketers, store staff, agents and managers (docs/console.md)", true},
		)
	}
	return append(rs,
		Route{"GET", "/metrics", AuthNone, e.Metrics, "Prometheus metrics", false},
		Route{"GET", "/healthz", AuthNone, e.Health, "the process is up", false},
		Route{"GET", "/readyz", AuthNone, e.Ready, "the process serves: background work started", false},
		Route{"", "/", AuthNone, noSuchEndpoint, "anything else: 404 naming the method and path", true},
	)
}

// Mux registers routes on a standard ServeMux, each behind the check of
// its authority that Parcours makes at the edge: for AuthAdmin, an API
// key or session whose role grants the route's permission (the others
// check their own: the write key, the link's signature, the provider's).
func (a *API) Mux(routes []Route) *http.ServeMux {
	mux := http.NewServeMux()
	for _, r := range routes {
		var h http.Handler = r.Handler
		if r.Auth == AuthAdmin {
			h = a.authenticate(r, a.checkInput(r.Pattern, h))
		}
		if r.Pattern == "/" && r.AnyMethod {
			h = methodNotAllowedOr(mux, routes, h)
		}
		if r.Auth != AuthWriteKey { // the tracking API bounds its bodies itself, tighter
			h = limitBody(h)
		}
		mux.Handle(r.Key(), secureHeaders(h))
	}
	a.mux = mux
	return mux
}

// MaxBody is the most a request body to any endpoint but the tracking
// API may hold (handlers bound theirs tighter where they can: 1 MiB for
// definitions, 64 KiB for public forms); beyond it the read fails and the
// request is refused with 413.
const MaxBody = 8 << 20

// limitBody bounds the request's body to MaxBody.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxBody {
			httpjson.Fail(w, r, nil, problem.New(problem.KindTooLarge, "too_large",
				fmt.Sprintf("the body is %d bytes; this endpoint takes at most %d", r.ContentLength, MaxBody)))
			return
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
		}
		next.ServeHTTP(w, r)
	})
}

// secureHeaders sets, on every answer, the headers that keep a browser
// from misusing it: no MIME sniffing, no framing, no referrer leaving
// with a click, and a content policy that lets the public pages show
// their own inline styles and post their own forms and nothing else.
// Strict-Transport-Security goes with answers over TLS.
func secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// methodNotAllowedOr answers 405 with Allow for a path that a route serves
// under another method (PUT on a page that has GET and POST), else lets
// fallback answer: the catch-all route would otherwise take such a
// request, since no pattern matches its method.
func methodNotAllowedOr(mux *http.ServeMux, routes []Route, fallback http.Handler) http.Handler {
	methods := map[string]bool{}
	for _, r := range routes {
		if r.Method != "" && !r.AnyMethod {
			methods[r.Method] = true
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for m := range methods {
			if m == r.Method {
				continue
			}
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/" {
				allow = append(allow, m)
			}
		}
		if len(allow) == 0 {
			fallback.ServeHTTP(w, r)
			return
		}
		slices.Sort(allow)
		w.Header().Set("Allow", strings.Join(allow, ", "))
		httpjson.Fail(w, r, nil, problem.New(problem.KindMethod, "method_not_allowed",
			r.Method+" "+r.URL.Path+": this path answers "+strings.Join(allow, ", ")))
	})
}

// noSuchEndpoint answers a path no route serves.
func noSuchEndpoint(w http.ResponseWriter, r *http.Request) {
	httpjson.Fail(w, r, nil, problem.New(problem.KindNotFound, "not_found", "no such endpoint: "+r.Method+" "+r.URL.Path))
}

func (a *API) noSuchEndpoint(w http.ResponseWriter, r *http.Request) { noSuchEndpoint(w, r) }

// commerceOnly serves h when the API has the commerce service; without it
// the route answers as if it did not exist.
func (a *API) commerceOnly(h http.HandlerFunc) http.HandlerFunc {
	if a.commerce == nil {
		return noSuchEndpoint
	}
	return h
}

// journeysOnly serves h when the API has the journey engine.
func (a *API) journeysOnly(h http.HandlerFunc) http.HandlerFunc {
	if a.journeys == nil {
		return noSuchEndpoint
	}
	return h
}

// hookAbout says what a provider callback carries, from its path.
func hookAbout(hk providers.Hook) string {
	what := "delivery receipts and inbound texts"
	switch {
	case hk.Path == "/inbound":
		what = "inbound texts (STOP ...)"
	case hk.Path != "":
		what = "delivery receipts"
	case hk.Method == "GET":
		what = "the subscription challenge"
	}
	return hk.Type + " provider callback: " + what
}
