package stepcli

import (
	"errors"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/trustline-dev/trustline/internal/exitcode"
)

func TestExitCodes(t *testing.T) {
	cases := []struct {
		err  error
		code int
	}{
		{nil, 0},
		{exitcode.CheckFailedf("2 violations"), 1},
		{errors.New("registry unreachable"), 2},
		{Usagef("--image is required"), 2},
	}
	for _, c := range cases {
		app := &cli.App{Name: "step", Action: func(*cli.Context) error { return c.err }}
		var stderr strings.Builder
		if got := Run(app, []string{"step"}, &stderr); got != c.code {
			t.Errorf("%v: exit %d, want %d", c.err, got, c.code)
		}
		if c.err != nil && !strings.Contains(stderr.String(), "step: "+c.err.Error()) {
			t.Errorf("stderr %q lacks the error", stderr.String())
		}
	}
	// An unknown flag is bad input: exit 2.
	app := &cli.App{Name: "step", Action: func(*cli.Context) error { return nil }}
	var stderr strings.Builder
	if got := Run(app, []string{"step", "--nope"}, &stderr); got != 2 {
		t.Errorf("unknown flag: exit %d", got)
	}
}
