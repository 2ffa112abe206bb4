package gen

import (
	"github.com/parcours/parcours/internal/place"

	"strconv"
)

// Store is a physical shop of the brand. Its tills send the "pos" events.
type Store struct {
	ID       string  `json:"id"` // e.g. "store-lyon-01"
	Name     string  `json:"name"`
	City     string  `json:"city"`
	PostCode string  `json:"postcode"`
	Lat      float64 `json:"lat"`
	Lon      float64 `json:"lon"`
}

type site struct {
	city, slug, district, postcode string
	lat, lon                       float64
}

// storeSites are where stores open, in order: the first Options.Stores of
// them, then the same cities again with a district number.
var storeSites = []site{
	{"Paris", "paris", "Le Marais", "75003", 48.8606, 2.3622},
	{"Lyon", "lyon", "Presqu'île", "69002", 45.7597, 4.8320},
	{"Marseille", "marseille", "Vieux-Port", "13001", 43.2965, 5.3698},
	{"Bordeaux", "bordeaux", "Sainte-Catherine", "33000", 44.8404, -0.5735},
	{"Lille", "lille", "Vieux-Lille", "59800", 50.6400, 3.0630},
	{"Toulouse", "toulouse", "Capitole", "31000", 43.6045, 1.4440},
	{"Nantes", "nantes", "Bouffay", "44000", 47.2150, -1.5536},
	{"Paris", "paris", "Opéra", "75009", 48.8719, 2.3316},
	{"Strasbourg", "strasbourg", "Petite France", "67000", 48.5808, 7.7441},
	{"Nice", "nice", "Masséna", "06000", 43.6975, 7.2705},
	{"Montpellier", "montpellier", "Comédie", "34000", 43.6083, 3.8795},
	{"Rennes", "rennes", "République", "35000", 48.1098, -1.6794},
	{"Grenoble", "grenoble", "Victor Hugo", "38000", 45.1885, 5.7245},
	{"Lyon", "lyon", "Part-Dieu", "69003", 45.7607, 4.8590},
	{"Dijon", "dijon", "Darcy", "21000", 47.3229, 5.0341},
	{"Tours", "tours", "Plumereau", "37000", 47.3941, 0.6848},
	{"Reims", "reims", "Erlon", "51100", 49.2550, 4.0303},
	{"Rouen", "rouen", "Gros-Horloge", "76000", 49.4406, 1.0933},
	{"Angers", "angers", "Ralliement", "49000", 47.4717, -0.5520},
	{"Clermont-Ferrand", "clermont-ferrand", "Jaude", "63000", 45.7772, 3.0820},
	{"Aix-en-Provence", "aix-en-provence", "Mirabeau", "13100", 43.5263, 5.4474},
	{"Metz", "metz", "Saint-Louis", "57000", 49.1178, 6.1757},
	{"Caen", "caen", "Vaugueux", "14000", 49.1840, -0.3626},
	{"Annecy", "annecy", "Vieille Ville", "74000", 45.8992, 6.1294},
}

func makeStores(n int) []Store {
	stores := make([]Store, n)
	count := map[string]int{}
	for i := range stores {
		s := storeSites[i%len(storeSites)]
		count[s.slug]++
		num := count[s.slug]
		name := "Parcours " + s.city + " " + s.district
		lat, lon := s.lat, s.lon
		if round := i / len(storeSites); round > 0 {
			// A second store in the same district: a few hundred metres away.
			name += " " + strconv.Itoa(round+1)
			lat += 0.004 * float64(round)
			lon -= 0.006 * float64(round)
		}
		id := "store-" + s.slug + "-"
		if num < 10 {
			id += "0"
		}
		stores[i] = Store{ID: id + strconv.Itoa(num), Name: name, City: s.city,
			PostCode: s.postcode, Lat: lat, Lon: lon}
	}
	return stores
}

// nearestStore returns the index of the store closest to a point.
func nearestStore(stores []Store, lat, lon float64) int {
	i, _ := place.Nearest(stores, func(s Store) (float64, float64) { return s.Lat, s.Lon }, lat, lon)
	return max(i, 0)
}
