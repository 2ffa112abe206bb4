package gen

// persona is a kind of customer, after the seeds' "Sophie, 30, active on
// Instagram, looks for ethical and comfortable clothes". Each customer gets
// one; it sets how often they come, on which channel, how likely they are to
// buy, return, call, open messages, and what they look at.
type persona struct {
	name  string
	story string

	weight         float64 // share of the customers
	ageMin, ageMax int
	gapDays        float64 // mean days between two visits
	lifeDays       float64 // mean days before they stop visiting; 0: never
	maxSessions    int     // 0: no limit

	mix         [3]float64 // visit channel weights: web, app, store
	pIOS        float64    // their phone is an iPhone (else Android)
	pApp        float64    // installed the app
	pTwoDevices float64    // uses both the web shop and the app
	pExisting   float64    // already a customer when the period starts
	pAccount    float64    // has or creates an account
	pLoyalty    float64    // has or takes a loyalty card
	pEthical    float64    // looks at eco-designed brands first

	views                   [2]int  // product pages per online visit
	pAdd, pCheckout, pBuy   float64 // funnel: add to cart, start checkout, pay
	pClickCollect           float64 // an online order is collected in store
	pStoreBuy               float64 // a store visit ends with a purchase
	pReturn                 float64 // an order is returned, partly or wholly
	pCall                   float64 // an order leads to a call to the call center
	pOpen, pClick           float64 // marketing message engagement
	pEmailOK, pSMSOK, pPush float64 // consents
	pSocial                 float64 // a first visit comes from a social ad
	cats                    [7]float64
	npsMean                 float64
}

var personas = []persona{
	{
		name: "ethical_instagrammer", story: "Sophie, 30, active on Instagram, looks for ethical and comfortable clothes",
		weight: 0.18, ageMin: 24, ageMax: 36, gapDays: 30, lifeDays: 240,
		mix: [3]float64{0.45, 0.45, 0.10}, pIOS: 0.55, pApp: 0.7, pTwoDevices: 0.5,
		pExisting: 0.3, pAccount: 0.85, pLoyalty: 0.35, pEthical: 0.7,
		views: [2]int{1, 5}, pAdd: 0.35, pCheckout: 0.55, pBuy: 0.6, pClickCollect: 0.25,
		pStoreBuy: 0.6, pReturn: 0.2, pCall: 0.03, pOpen: 0.35, pClick: 0.25,
		pEmailOK: 0.8, pSMSOK: 0.5, pPush: 0.6, pSocial: 0.6,
		cats: [7]float64{3, 4, 1, 1, 2, 3, 2}, npsMean: 8,
	},
	{
		name: "store_loyalist", story: "Monique, 58, shops in her local store with her loyalty card and reads the newsletter",
		weight: 0.15, ageMin: 45, ageMax: 75, gapDays: 45,
		mix: [3]float64{0.15, 0, 0.85}, pIOS: 0.35, pApp: 0.1, pTwoDevices: 0.05,
		pExisting: 0.85, pAccount: 0.5, pLoyalty: 0.95, pEthical: 0.2,
		views: [2]int{1, 3}, pAdd: 0.25, pCheckout: 0.5, pBuy: 0.7, pClickCollect: 0.4,
		pStoreBuy: 0.85, pReturn: 0.08, pCall: 0.08, pOpen: 0.45, pClick: 0.15,
		pEmailOK: 0.85, pSMSOK: 0.6, pPush: 0.2, pSocial: 0.02,
		cats: [7]float64{3, 2, 3, 3, 3, 1, 1}, npsMean: 8.5,
	},
	{
		name: "omnichannel", story: "Karim, 38, researches online then buys in store or with click & collect",
		weight: 0.17, ageMin: 28, ageMax: 50, gapDays: 35, lifeDays: 300,
		mix: [3]float64{0.4, 0.3, 0.3}, pIOS: 0.45, pApp: 0.6, pTwoDevices: 0.7,
		pExisting: 0.5, pAccount: 0.9, pLoyalty: 0.6, pEthical: 0.3,
		views: [2]int{2, 6}, pAdd: 0.3, pCheckout: 0.5, pBuy: 0.7, pClickCollect: 0.45,
		pStoreBuy: 0.7, pReturn: 0.15, pCall: 0.05, pOpen: 0.3, pClick: 0.22,
		pEmailOK: 0.75, pSMSOK: 0.6, pPush: 0.6, pSocial: 0.2,
		cats: [7]float64{3, 1, 3, 2, 2, 3, 3}, npsMean: 7.5,
	},
	{
		name: "bargain_hunter", story: "Léa, 22, compares prices on her Android phone and waits for the sales",
		weight: 0.12, ageMin: 18, ageMax: 28, gapDays: 18, lifeDays: 120,
		mix: [3]float64{0.35, 0.6, 0.05}, pIOS: 0.25, pApp: 0.8, pTwoDevices: 0.3,
		pExisting: 0.2, pAccount: 0.6, pLoyalty: 0.2, pEthical: 0.1,
		views: [2]int{2, 8}, pAdd: 0.45, pCheckout: 0.35, pBuy: 0.4, pClickCollect: 0.15,
		pStoreBuy: 0.4, pReturn: 0.12, pCall: 0.02, pOpen: 0.2, pClick: 0.3,
		pEmailOK: 0.7, pSMSOK: 0.4, pPush: 0.7, pSocial: 0.6,
		cats: [7]float64{4, 2, 1, 1, 3, 3, 2}, npsMean: 6.5,
	},
	{
		name: "gift_buyer", story: "Philippe, 47, buys a present a few times a year and calls to check the delivery",
		weight: 0.08, ageMin: 35, ageMax: 65, gapDays: 120,
		mix: [3]float64{0.7, 0, 0.3}, pIOS: 0.5, pApp: 0.05, pTwoDevices: 0.05,
		pExisting: 0.3, pAccount: 0.7, pLoyalty: 0.15, pEthical: 0.2,
		views: [2]int{2, 5}, pAdd: 0.5, pCheckout: 0.7, pBuy: 0.75, pClickCollect: 0.2,
		pStoreBuy: 0.8, pReturn: 0.1, pCall: 0.25, pOpen: 0.25, pClick: 0.15,
		pEmailOK: 0.6, pSMSOK: 0.3, pPush: 0.1, pSocial: 0.1,
		cats: [7]float64{1, 1, 2, 4, 4, 1, 1}, npsMean: 7,
	},
	{
		name: "window_shopper", story: "a visitor who looks at a few pages and never buys",
		weight: 0.30, ageMin: 16, ageMax: 60, gapDays: 30, maxSessions: 3,
		mix: [3]float64{0.85, 0.15, 0}, pIOS: 0.4, pApp: 0.1, pTwoDevices: 0.05,
		pExisting: 0, pAccount: 0.05, pLoyalty: 0, pEthical: 0.3,
		views: [2]int{1, 4}, pAdd: 0.12, pCheckout: 0.1, pBuy: 0.2,
		pOpen: 0.1, pClick: 0.1, pEmailOK: 0.3, pSMSOK: 0.1, pPush: 0.3, pSocial: 0.4,
		cats: [7]float64{2, 2, 2, 2, 2, 2, 2}, npsMean: 7,
	},
}

// Persona is the public description of a kind of customer.
type Persona struct {
	Name   string  `json:"name"`
	Story  string  `json:"story"`
	Weight float64 `json:"weight"`
}

// Personas lists the kinds of customers the generator draws from.
func Personas() []Persona {
	out := make([]Persona, len(personas))
	for i, p := range personas {
		out[i] = Persona{p.name, p.story, p.weight}
	}
	return out
}
