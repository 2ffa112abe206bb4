package gen

import (
	"strconv"
	"strings"
)

// Product is an article of the catalogue.
type Product struct {
	ID       string  `json:"product_id"`
	SKU      string  `json:"sku"`
	Name     string  `json:"name"`
	Category string  `json:"category"`
	Brand    string  `json:"brand"`
	Variant  string  `json:"variant"` // the colour
	Price    float64 `json:"price"`   // euros, VAT included
	URL      string  `json:"url"`
	ImageURL string  `json:"image_url"`
	Ethical  bool    `json:"ethical"` // made by one of the eco-designed brands

	cents int64
	query string // what someone looking for it types in the search box
	full  string // JSON properties of a Product Viewed/Added event
	short string // JSON of an element of a products[] array, without quantity
}

const (
	siteURL = "https://www.parcours-boutique.example"
	cdnURL  = "https://cdn.parcours-boutique.example/img/"
)

type categoryDef struct {
	slug, label, code string
	kinds             []string // French article types
	materials         []string
	minCents          int64
	maxCents          int64
}

// categories are in the order personas weigh them (see persona.cats).
var categories = []categoryDef{
	{"shoes", "Chaussures", "CHA", []string{"Baskets", "Bottines", "Mocassins", "Ballerines", "Sandales", "Derbies"},
		[]string{"en cuir", "en toile bio", "en daim", "en matières recyclées", "vegan"}, 5900, 18900},
	{"dresses", "Robes", "ROB", []string{"Robe midi", "Robe portefeuille", "Robe chemise", "Robe longue", "Robe pull"},
		[]string{"en lin", "en coton bio", "en viscose", "en maille", "fleurie"}, 3900, 14900},
	{"jackets", "Vestes & manteaux", "VES", []string{"Trench", "Veste en jean", "Blazer", "Doudoune", "Manteau", "Parka"},
		[]string{"en coton bio", "en laine recyclée", "imperméable", "oversize", "à capuche"}, 7900, 29900},
	{"bags", "Sacs", "SAC", []string{"Sac cabas", "Sac bandoulière", "Sac à dos", "Pochette", "Sac seau"},
		[]string{"en cuir", "en toile", "en cuir végétal", "en raphia", "en velours"}, 4900, 25900},
	{"accessories", "Accessoires", "ACC", []string{"Écharpe", "Ceinture", "Bonnet", "Foulard", "Casquette", "Chaussettes"},
		[]string{"en laine", "en soie", "en coton bio", "en cuir", "en cachemire"}, 900, 6900},
	{"tops", "Hauts", "HAU", []string{"T-shirt", "Chemise", "Pull", "Sweat", "Blouse"},
		[]string{"en coton bio", "en lin", "en laine mérinos", "à rayures", "à col rond"}, 1900, 7900},
	{"trousers", "Pantalons & jupes", "PAN", []string{"Jean droit", "Pantalon large", "Chino", "Jupe plissée", "Short"},
		[]string{"en denim bio", "en lin", "en velours", "taille haute", "stretch"}, 3900, 11900},
}

var colours = []string{"noir", "blanc", "camel", "bleu marine", "rouge", "vert sauge", "écru", "gris chiné", "rose poudré", "kaki"}

var brands = []struct {
	name    string
	ethical bool
}{
	{"Atelier Rive", true}, {"Maison Lumière", false}, {"Nord Sud", false}, {"Les Petits Pas", true},
	{"Sabot & Cie", false}, {"Bel Été", false}, {"Fil Vert", true}, {"Parcours", false},
}

// productsPerCategory keeps the catalogue around 250 articles: enough for
// affinities and recommendations to mean something, small enough to keep
// its JSON fragments in cache.
const productsPerCategory = 36

// makeCatalog builds the catalogue. It depends on no seed: the same SKUs
// exist whatever the event stream, so a stock import or a journey example
// can name them.
func makeCatalog() []Product {
	r := newRNG(0xca7a1065)
	var ps []Product
	for _, cat := range categories {
		seen := map[string]bool{}
		for n := 0; n < productsPerCategory; {
			kind := cat.kinds[r.intn(len(cat.kinds))]
			name := kind + " " + cat.materials[r.intn(len(cat.materials))]
			colour := colours[r.intn(len(colours))]
			if seen[name+colour] {
				continue
			}
			seen[name+colour] = true
			n++
			b := brands[r.intn(len(brands))]
			span := (cat.maxCents - cat.minCents) / 100
			cents := (cat.minCents/100+int64(r.intn(int(span))))/5*500 - 1 // 54.99, 59.99 ...
			if cents < cat.minCents-100 {
				cents = cat.minCents - 1
			}
			num := len(ps) + 1
			p := Product{
				ID:       "P" + strconv.Itoa(100000+num),
				SKU:      cat.code + "-" + pad4(num) + "-" + strings.ToUpper(asciiFold(colour)[:3]),
				Name:     name + " " + colour,
				Category: cat.slug,
				Brand:    b.name,
				Variant:  colour,
				Price:    float64(cents) / 100,
				Ethical:  b.ethical,
				cents:    cents,
				query:    strings.ToLower(asciiFold(kind + " " + colour)),
			}
			p.URL = siteURL + "/p/" + slugify(p.Name) + "-" + p.ID
			p.ImageURL = cdnURL + p.SKU + ".jpg"
			p.full, p.short = productJSON(&p, true), productJSON(&p, false)
			ps = append(ps, p)
		}
	}
	return ps
}

func productJSON(p *Product, full bool) string {
	w := jw{b: []byte{'{'}}
	w.str("product_id", p.ID)
	w.str("sku", p.SKU)
	w.str("name", p.Name)
	w.str("category", p.Category)
	w.str("brand", p.Brand)
	w.str("variant", p.Variant)
	w.euros("price", p.cents)
	if full {
		w.str("currency", "EUR")
		w.str("url", p.URL)
	}
	// The caller continues the object, so the brace is left out.
	return string(w.b[1:])
}

func pad4(n int) string {
	s := strconv.Itoa(n)
	return strings.Repeat("0", max(0, 4-len(s))) + s
}

var foldReplacer = strings.NewReplacer("é", "e", "è", "e", "ê", "e", "ë", "e", "à", "a", "â", "a",
	"î", "i", "ï", "i", "ô", "o", "ö", "o", "ù", "u", "û", "u", "ü", "u", "ç", "c", "É", "E", "È", "E")

// asciiFold strips the French accents.
func asciiFold(s string) string { return foldReplacer.Replace(s) }

func slugify(s string) string {
	s = strings.ToLower(asciiFold(s))
	var b strings.Builder
	dash := false
	for _, c := range s {
		if ('a' <= c && c <= 'z') || ('0' <= c && c <= '9') {
			b.WriteRune(c)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}
