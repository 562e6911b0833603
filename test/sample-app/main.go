// Command sample-app is the demo application of trustline's main job: a
// tiny HTTP service that greets in the language the client prefers. It
// deliberately uses golang.org/x/text v0.3.7, whose
// language.ParseAcceptLanguage has a known denial-of-service advisory
// (GO-2022-1059, CVE-2022-32149), so the scan step has something to find.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"

	"golang.org/x/text/language"
)

var greetings = map[language.Tag]string{
	language.English: "Hello",
	language.French:  "Bonjour",
	language.German:  "Hallo",
}

var matcher = language.NewMatcher([]language.Tag{language.English, language.French, language.German})

func greet(w http.ResponseWriter, r *http.Request) {
	tags, _, err := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if err != nil {
		tags = nil
	}
	tag, _, _ := matcher.Match(tags...)
	base, _ := tag.Base()
	for t, g := range greetings {
		if b, _ := t.Base(); b == base {
			fmt.Fprintf(w, "%s from trustline's sample app\n", g)
			return
		}
	}
	fmt.Fprintln(w, "Hello from trustline's sample app")
}

func main() {
	addr := ":8080"
	if a := os.Getenv("ADDR"); a != "" {
		addr = a
	}
	http.HandleFunc("/", greet)
	log.Printf("listening on %s", addr)
	log.Fatal(http.ListenAndServe(addr, nil))
}
