package tekton

import (
	"fmt"
	"regexp"
	"strconv"
	"unicode/utf8"
)

// maxQuoted is how much of a quoted value a message shows: Tekton quotes
// whole values (a 7,000-character script) in its messages.
const maxQuoted = 80

var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// Shorten cuts every quoted value in a message longer than maxQuoted
// characters to its start and its length, and the message itself to 1,000
// characters.
func Shorten(msg string) string {
	msg = quoted.ReplaceAllStringFunc(msg, func(q string) string {
		if len(q) <= maxQuoted+2 {
			return q
		}
		cut := maxQuoted - 20
		for cut > 0 && q[cut]&0xC0 == 0x80 { // not inside a UTF-8 character
			cut--
		}
		for cut > 1 && q[cut-1] == '\\' { // not inside an escape
			cut--
		}
		n := len(q) - 2
		if u, err := strconv.Unquote(q); err == nil {
			n = utf8.RuneCountInString(u)
		}
		return fmt.Sprintf("%s…\" (%d characters)", q[:cut], n)
	})
	if len(msg) > 1000 {
		cut := 1000
		for cut > 0 && msg[cut]&0xC0 == 0x80 {
			cut--
		}
		msg = msg[:cut] + "…"
	}
	return msg
}
