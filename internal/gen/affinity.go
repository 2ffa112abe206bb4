package gen

// Affinities make what customers look at and buy together learnable, as
// in a real shop: each customer has a favourite brand (drawn from their
// persona's taste for eco-designed brands), and each article belongs to a
// "look" of companion articles in other categories (the bag and the
// scarf that go with a pair of boots) that a customer who looked at it
// often goes on to look at and buy. Recommendations (internal/recommend)
// learn these pairs from the events; `parcours bench recommend` measures
// how well.

// companionsPerProduct is the size of an article's look.
const companionsPerProduct = 3

// Affinity probabilities: after a first article, the next one is a
// companion of the last viewed with pLook; otherwise it is of the
// customer's favourite brand with pBrand.
const (
	pLook  = 0.35
	pBrand = 0.4
)

// makeCompanions draws each article's look: articles of other
// categories, fixed for the catalogue (no seed), so that the same pairs
// hold in every generated stream.
func makeCompanions(products []Product, catOf []uint8, byCat [][]int32) [][companionsPerProduct]int32 {
	r := newRNG(0x10c5)
	out := make([][companionsPerProduct]int32, len(products))
	for i := range products {
		for k := 0; k < companionsPerProduct; k++ {
			cat := r.intn(len(byCat) - 1)
			if cat >= int(catOf[i]) {
				cat++ // another category than the article's
			}
			list := byCat[cat]
			// Popular articles are more often in looks, as in byCat's
			// order of popularity.
			u := r.float()
			out[i][k] = list[int(float64(len(list))*u*u)]
		}
	}
	return out
}

// makeBrandLists indexes the articles of each category by brand.
func makeBrandLists(products []Product, catOf []uint8) [][][]int32 {
	out := make([][][]int32, len(categories))
	for c := range out {
		out[c] = make([][]int32, len(brands))
	}
	for i, p := range products {
		for b := range brands {
			if brands[b].name == p.Brand {
				out[catOf[i]][b] = append(out[catOf[i]][b], int32(i))
			}
		}
	}
	return out
}

// favouriteBrand is the customer's brand: an eco-designed one for those
// whose persona looks for them, drawn from the customer's index (it takes
// nothing from their random stream).
func (g *Generator) favouriteBrand(c *customer) int {
	h := hash2(g.seedKey^0xb7a4d, uint64(c.idx))
	var pool []int
	ethical := float64(h>>40&0xffff)/0x10000 < personas[c.persona].pEthical
	for b := range brands {
		if brands[b].ethical == ethical {
			pool = append(pool, b)
		}
	}
	return pool[int(h%uint64(len(pool)))]
}
