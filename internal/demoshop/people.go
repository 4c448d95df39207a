package demoshop

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// firstNames and lastNames are common names across Europe, diacritics
// included (the API keeps first names as sent; addresses are ASCII).
var firstNames = []string{
	"Ada", "Adam", "Agnieszka", "Aino", "Alba", "Alessandro", "Alice", "Amélie", "Ana", "Anders",
	"Andrea", "Anna", "Antoine", "Astrid", "Ben", "Björn", "Camille", "Carla", "Carlos", "Charlotte",
	"Chiara", "Chloé", "Clara", "Daniel", "David", "Diego", "Dimitri", "Elena", "Elias", "Elif",
	"Ella", "Emil", "Emilia", "Emma", "Erik", "Eva", "Fatima", "Felix", "Finn", "Francesca",
	"Freya", "Gabriel", "Georg", "Giulia", "Greta", "Hannah", "Hugo", "Ida", "Ines", "Isabel",
	"Ivan", "Jakob", "Jan", "Javier", "Johanna", "Jonas", "Jörg", "Julia", "Juliette", "Karin",
	"Katarzyna", "Klara", "Lars", "Laura", "Lea", "Leon", "Léa", "Lena", "Leo", "Lina",
	"Linnea", "Lisa", "Louis", "Luca", "Lucía", "Lukas", "Maja", "Małgorzata", "Marco", "Maria",
	"Marie", "Mario", "Marta", "Martin", "Mateo", "Matteo", "Max", "Mia", "Mila", "Milan",
	"Nadia", "Niklas", "Noah", "Nora", "Olivia", "Omar", "Oskar", "Paul", "Pedro", "Petra",
	"Pierre", "Piotr", "Rosa", "Ruben", "Sara", "Selin", "Simon", "Sofia", "Søren", "Sophie",
	"Stefan", "Tereza", "Theo", "Thomas", "Tomás", "Valentina", "Victor", "Yasmin", "Zoë", "Zofia",
}

var lastNames = []string{
	"Andersson", "Bauer", "Becker", "Bernard", "Bianchi", "Bruno", "Costa", "Dubois", "Dvořák", "Eriksson",
	"Esposito", "Fernández", "Ferrari", "Fischer", "Fontaine", "García", "Girard", "Hansen", "Hoffmann", "Horvat",
	"Jansen", "Jensen", "Kaya", "Koch", "Kowalski", "Kovačić", "Lambert", "Larsen", "Laurent", "Lehmann",
	"Lindqvist", "López", "Martin", "Martínez", "Meyer", "Moreau", "Müller", "Murphy", "Nielsen", "Nowak",
	"O'Brien", "Olsen", "Pereira", "Petit", "Ricci", "Richter", "Romano", "Rossi", "Santos", "Schmidt",
	"Schneider", "Schulz", "Silva", "Smith", "Svensson", "Thomas", "Van Dijk", "Virtanen", "Wagner", "Walsh",
	"Weber", "Wiśniewski", "Wójcik", "Yılmaz", "Zimmermann",
}

// exampleDomains are the domains RFC 2606 reserves for examples: no address
// of the demo can reach anyone.
var exampleDomains = []string{"example.com", "example.com", "example.org", "example.net"}

// asciiFold maps the letters of the names to what people write in
// addresses.
var asciiFold = strings.NewReplacer(
	"ä", "ae", "ö", "oe", "ü", "ue", "ß", "ss", "å", "a", "ø", "o", "æ", "ae",
	"é", "e", "è", "e", "ë", "e", "ê", "e", "ě", "e", "ę", "e", "á", "a", "à", "a", "ą", "a",
	"í", "i", "ï", "i", "ı", "i", "ó", "o", "ò", "o", "ú", "u", "ů", "u", "ý", "y",
	"č", "c", "ć", "c", "ç", "c", "ł", "l", "ń", "n", "ñ", "n", "ř", "r", "š", "s", "ś", "s",
	"ş", "s", "ğ", "g", "ž", "z", "ż", "z", "ź", "z", "'", "", " ", "",
)

// person is a customer's name and the parts of their address.
type person struct {
	first, last, local, domain string
}

// newPerson draws a name and an address in one of the usual patterns.
func newPerson(rng *rand.Rand) person {
	first := firstNames[rng.IntN(len(firstNames))]
	last := lastNames[rng.IntN(len(lastNames))]
	f, l := asciiFold.Replace(strings.ToLower(first)), asciiFold.Replace(strings.ToLower(last))
	var local string
	switch rng.IntN(6) {
	case 0, 1:
		local = f + "." + l
	case 2:
		local = f + l
	case 3:
		local = f[:1] + "." + l
	case 4:
		local = f + "_" + l
	default:
		local = f + fmt.Sprintf("%02d", (60+rng.IntN(45))%100) // a birth year
	}
	return person{first: first, last: last, local: local, domain: exampleDomains[rng.IntN(len(exampleDomains))]}
}

// email is the person's address, made unique among taken (which it joins)
// with a number.
func (p person) email(taken map[string]bool) string {
	email := p.local + "@" + p.domain
	for n := 2; taken[email]; n++ {
		email = p.local + strconv.Itoa(n) + "@" + p.domain
	}
	taken[email] = true
	return email
}
