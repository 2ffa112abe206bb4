package gen

// French first names, split by gender, and family names. Their lengths set
// the radix of the name permutation (see person.go), so adding a name
// changes every generated identity for a given seed.
var femaleNames = []string{
	"Sophie", "Marie", "Camille", "Léa", "Manon", "Chloé", "Emma", "Inès", "Sarah", "Julie",
	"Laura", "Pauline", "Claire", "Céline", "Nathalie", "Isabelle", "Sandrine", "Valérie", "Christine", "Monique",
	"Françoise", "Catherine", "Anne", "Élodie", "Aurélie", "Mélanie", "Émilie", "Lucie", "Juliette", "Louise",
	"Alice", "Jade", "Zoé", "Clara", "Margaux", "Mathilde", "Océane", "Charlotte", "Hélène", "Sylvie",
	"Martine", "Nicole", "Brigitte", "Agnès", "Audrey", "Caroline", "Virginie", "Stéphanie", "Amandine", "Marion",
	"Élise", "Anaïs", "Romane", "Lina", "Yasmine", "Fatima", "Amina", "Nadia", "Sonia", "Coralie",
}

var maleNames = []string{
	"Karim", "Thomas", "Nicolas", "Julien", "Pierre", "Antoine", "Alexandre", "Maxime", "Kevin", "Romain",
	"Sébastien", "Philippe", "Michel", "Alain", "Jean", "Patrick", "Éric", "Laurent", "Olivier", "Christophe",
	"Frédéric", "Stéphane", "David", "Vincent", "François", "Guillaume", "Mathieu", "Hugo", "Lucas", "Louis",
	"Gabriel", "Arthur", "Jules", "Léo", "Nathan", "Théo", "Raphaël", "Adam", "Mohamed", "Yanis",
	"Mehdi", "Rayan", "Bastien", "Benoît", "Cédric", "Damien", "Fabrice", "Gilles", "Hervé", "Jérôme",
	"Ludovic", "Marc", "Pascal", "Quentin", "Rémi", "Samuel", "Simon", "Tristan", "Yann", "Paul",
}

var lastNames = []string{
	"Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
	"Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier",
	"Morel", "Girard", "André", "Lefèvre", "Mercier", "Dupont", "Lambert", "Bonnet", "François", "Martinez",
	"Legrand", "Garnier", "Faure", "Rousseau", "Blanc", "Guérin", "Muller", "Henry", "Roussel", "Nicolas",
	"Perrin", "Morin", "Mathieu", "Clément", "Gauthier", "Dumont", "Lopez", "Fontaine", "Chevalier", "Robin",
	"Masson", "Sanchez", "Gérard", "Nguyen", "Boyer", "Denis", "Lemaire", "Duval", "Joly", "Gautier",
	"Roger", "Roche", "Roy", "Noël", "Meyer", "Lucas", "Meunier", "Jean", "Perez", "Marchand",
	"Dufour", "Blanchard", "Marie", "Barbier", "Brun", "Dumas", "Brunet", "Schmitt", "Leroux", "Colin",
	"Fernandez", "Pierre", "Renard", "Arnaud", "Rolland", "Caron", "Aubert", "Giraud", "Leclerc", "Vidal",
	"Bourgeois", "Renaud", "Lemoine", "Picard", "Gaillard", "Philippe", "Leclercq", "Lacroix", "Fabre", "Dupuis",
	"Olivier", "Rodriguez", "Da Silva", "Hubert", "Louis", "Charles", "Guillot", "Rivière", "Le Gall", "Guillaume",
	"Adam", "Rey", "Moulin", "Gonzalez", "Berger", "Lecomte", "Ménard", "Fleury", "Deschamps", "Carpentier",
	"Julien", "Benoît", "Paris", "Maillard", "Marchal", "Aubry", "Vasseur", "Renault", "Jacquet", "Collet",
	"Prévost", "Poirier", "Charpentier", "Royer", "Huet", "Baron", "Dupuy", "Pons", "Paul", "Laine",
	"Carré", "Breton", "Rémy", "Schneider", "Perrot", "Guyot", "Barré", "Marty", "Benali", "Diallo",
}

// emailDomains use the reserved .example top-level domain (RFC 2606): the
// addresses look like the French mailbox providers' but can never reach a
// real person, whatever provider a demo is wired to.
var emailDomains = []string{
	"gmail.example", "orange.example", "free.example", "hotmail.example", "yahoo.example",
	"outlook.example", "laposte.example", "sfr.example", "icloud.example", "wanadoo.example",
}

// emailPatterns are the local-part shapes. Each keeps first name then last
// name with its own separator, so two people never share an address.
const emailPatterns = 5

type city struct {
	name     string
	postcode int // the first, or the base of a range
	spread   int // number of consecutive postcodes (Paris arrondissements ...)
	lat, lon float64
	weight   float64
}

// homeCities are where customers live, weighted roughly by population.
var homeCities = []city{
	{"Paris", 75001, 20, 48.8566, 2.3522, 14}, {"Boulogne-Billancourt", 92100, 1, 48.8397, 2.2399, 2},
	{"Montreuil", 93100, 1, 48.8638, 2.4485, 2}, {"Saint-Denis", 93200, 1, 48.9362, 2.3574, 2},
	{"Versailles", 78000, 1, 48.8049, 2.1204, 1.5}, {"Vincennes", 94300, 1, 48.8474, 2.4390, 1},
	{"Lyon", 69001, 9, 45.7640, 4.8357, 6}, {"Villeurbanne", 69100, 1, 45.7719, 4.8902, 2},
	{"Marseille", 13001, 16, 43.2965, 5.3698, 6}, {"Aix-en-Provence", 13090, 1, 43.5297, 5.4474, 1.5},
	{"Toulouse", 31000, 1, 43.6047, 1.4442, 5}, {"Bordeaux", 33000, 1, 44.8378, -0.5792, 4},
	{"Mérignac", 33700, 1, 44.8386, -0.6436, 1}, {"Lille", 59000, 1, 50.6292, 3.0573, 3.5},
	{"Roubaix", 59100, 1, 50.6942, 3.1746, 1}, {"Nantes", 44000, 1, 47.2184, -1.5536, 3.5},
	{"Strasbourg", 67000, 1, 48.5734, 7.7521, 3}, {"Nice", 6000, 1, 43.7102, 7.2620, 3},
	{"Montpellier", 34000, 1, 43.6108, 3.8767, 3}, {"Rennes", 35000, 1, 48.1173, -1.6778, 2.5},
	{"Grenoble", 38000, 1, 45.1885, 5.7245, 2}, {"Dijon", 21000, 1, 47.3220, 5.0415, 1.5},
	{"Tours", 37000, 1, 47.3941, 0.6848, 1.5}, {"Reims", 51100, 1, 49.2583, 4.0317, 1.5},
	{"Rouen", 76000, 1, 49.4432, 1.0999, 1.5}, {"Angers", 49000, 1, 47.4784, -0.5632, 1.5},
	{"Clermont-Ferrand", 63000, 1, 45.7772, 3.0870, 1.5}, {"Metz", 57000, 1, 49.1193, 6.1757, 1},
	{"Caen", 14000, 1, 49.1829, -0.3707, 1}, {"Annecy", 74000, 1, 45.8992, 6.1294, 1},
	{"Toulon", 83000, 1, 43.1242, 5.9280, 1.5}, {"Saint-Étienne", 42000, 1, 45.4397, 4.3872, 1.5},
	{"Le Havre", 76600, 1, 49.4944, 0.1079, 1}, {"Brest", 29200, 1, 48.3904, -4.4861, 1},
	{"Orléans", 45000, 1, 47.9030, 1.9093, 1}, {"Perpignan", 66000, 1, 42.6887, 2.8948, 1},
	{"La Rochelle", 17000, 1, 46.1603, -1.1511, 1}, {"Vannes", 56000, 1, 47.6582, -2.7608, 0.7},
	{"Pau", 64000, 1, 43.2951, -0.3708, 0.7}, {"Nancy", 54000, 1, 48.6921, 6.1844, 1},
}
