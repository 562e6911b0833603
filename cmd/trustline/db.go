package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/trustline-dev/trustline/internal/osvexport"
	"github.com/trustline-dev/trustline/internal/osvfetch"
	"github.com/trustline-dev/trustline/internal/outfile"
	"github.com/trustline-dev/trustline/internal/stepcli"
)

func dbCommand() *cli.Command {
	return &cli.Command{
		Name:  "db",
		Usage: "get the OSV vulnerability database the scan step reads (<DIR>/<Ecosystem>/all.zip)",
		Subcommands: []*cli.Command{
			dbFetchCommand(),
			dbSubsetCommand(),
		},
	}
}

func dbFetchCommand() *cli.Command {
	return &cli.Command{
		Name:  "fetch",
		Usage: "download osv.dev's full per-ecosystem exports into DIR/<Ecosystem>/all.zip",
		UsageText: `trustline db fetch [--ecosystem NAME]... [--base-url URL] DIR

Examples:
   trustline db fetch osv/                                   # ` + strings.Join(osvfetch.DefaultEcosystems, ", ") + `
   trustline db fetch --ecosystem Go --ecosystem npm osv/
   trustline db fetch --ecosystem Debian:12 --base-url http://mirror.internal/osv osv/
   scan --sbom sbom.cdx.json --db osv/`,
		Description: `Each export is downloaded to a temporary file beside its target and checked
before it replaces the old one: the byte count against Content-Length, the
checksums the server sends (x-goog-hash crc32c/md5, Content-MD5, Repr-Digest
or Digest sha-256), and the content (a readable zip whose every entry is an
OSV JSON record). A failed download leaves the old database as it was.
Ecosystems are fetched one after another; the first failure stops the command
(exit 2). --base-url points at any server with the same layout
(<URL>/<Ecosystem>/all.zip), such as a mirror of the bucket.`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "ecosystem", Usage: "fetch `NAME` as osv.dev spells it (repeatable; default: " + strings.Join(osvfetch.DefaultEcosystems, ", ") + ")"},
			&cli.StringFlag{Name: "base-url", Value: osvfetch.DefaultBaseURL, Usage: "download `URL`/<Ecosystem>/all.zip"},
			stepcli.JSONOutputFlag(),
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return stepcli.Usagef("want exactly one argument, the database directory DIR (see --help)")
			}
			dir := c.Args().First()
			ecos := c.StringSlice("ecosystem")
			if len(ecos) == 0 {
				ecos = osvfetch.DefaultEcosystems
			}
			tty := false
			if f, ok := c.App.ErrWriter.(*os.File); ok {
				fi, err := f.Stat()
				tty = err == nil && fi.Mode()&os.ModeCharDevice != 0
			}
			res, err := osvfetch.Fetch(c.Context, dir, ecos,
				osvfetch.WithBaseURL(c.String("base-url")),
				osvfetch.WithProgress(progressPrinter(c.App.ErrWriter, tty), time.Second))
			for _, r := range res {
				fmt.Fprintf(c.App.ErrWriter, "db fetch: %s: %d records, %s, sha256 %s, checked against the server's %s\n",
					r.Path, r.Records, mib(r.Size), r.SHA256, orNone(r.Verified))
			}
			if err != nil {
				return stepcli.Usagef("db fetch: %w", err)
			}
			return stepcli.PrintJSON(c, res)
		},
	}
}

// progressPrinter draws one line per ecosystem, rewritten in place on a
// terminal; elsewhere (a CI log) it prints a line every 10%.
func progressPrinter(w io.Writer, tty bool) func(osvfetch.Progress) {
	lastEco, lastTenth := "", int64(-1)
	return func(p osvfetch.Progress) {
		line := fmt.Sprintf("db fetch: %s: %s", p.Ecosystem, mib(p.Done))
		tenth := int64(-1)
		if p.Total > 0 {
			line += fmt.Sprintf(" of %s (%d%%)", mib(p.Total), p.Done*100/p.Total)
			tenth = p.Done * 10 / p.Total
		}
		if tty {
			fmt.Fprintf(w, "\r\033[K%s", line)
			if p.Total > 0 && p.Done >= p.Total {
				fmt.Fprintln(w)
			}
			return
		}
		if p.Ecosystem != lastEco || tenth > lastTenth {
			fmt.Fprintln(w, line)
			lastEco, lastTenth = p.Ecosystem, tenth
		}
	}
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func orNone(s []string) string {
	if len(s) == 0 {
		return "(none sent)"
	}
	return strings.Join(s, ", ") + " checksum"
}

func dbSubsetCommand() *cli.Command {
	return &cli.Command{
		Name:  "subset",
		Usage: "cut the records that name some packages out of an OSV database, without their prose",
		UsageText: `trustline db subset --from DIR --ecosystem NAME [--package NAME]... --to DIR

Examples:
   # the demo's database (scripts/osv-subset.sh does this):
   trustline db subset --from ../shared/osv --ecosystem Go \
     --package stdlib --package toolchain --package golang.org/x/text --to test/sample-app-osv`,
		Description: `Writes TO/<Ecosystem>/all.zip holding every record of FROM/<Ecosystem>/all.zip
that has an affected package of that ecosystem named by --package (every
record of the ecosystem without --package), with the fields summary and
details removed and everything else (ids, aliases, affected ranges,
severities, references, modified, published) kept. The output is
deterministic: the same input gives the same bytes.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "from", Required: true, Usage: "read `DIR`/<Ecosystem>/all.zip"},
			&cli.StringFlag{Name: "to", Required: true, Usage: "write `DIR`/<Ecosystem>/all.zip"},
			&cli.StringFlag{Name: "ecosystem", Required: true, Usage: "the ecosystem `NAME` (Go, npm, crates.io, …)"},
			&cli.StringSliceFlag{Name: "package", Usage: "keep records affecting package `NAME` (repeatable)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 0 {
				return stepcli.Usagef("unexpected arguments %v (see --help)", c.Args().Slice())
			}
			eco := c.String("ecosystem")
			if strings.ContainsAny(eco, `/\`) || eco == ".." || eco == "." {
				return stepcli.Usagef("--ecosystem %q: want one name such as Go", eco)
			}
			src := filepath.Join(c.String("from"), eco, "all.zip")
			in, err := os.Open(src)
			if err != nil {
				return stepcli.Usagef("--from: %w", err)
			}
			defer in.Close()
			st, err := in.Stat()
			if err != nil {
				return stepcli.Usagef("--from: %w", err)
			}
			pkgs := map[string]bool{}
			for _, p := range c.StringSlice("package") {
				pkgs[p] = true
			}
			keep := func(e, name string) bool { return e == eco && (len(pkgs) == 0 || pkgs[name]) }
			dst := filepath.Join(c.String("to"), eco, "all.zip")
			var n int
			err = outfile.WriteFunc(dst, func(w io.Writer) error {
				var err error
				n, err = osvexport.Subset(in, st.Size(), w, keep)
				return err
			}, outfile.WithParents())
			if err != nil {
				return stepcli.Usagef("%s: %w", src, err)
			}
			fmt.Fprintf(c.App.ErrWriter, "db subset: %d records of %s written to %s\n", n, src, dst)
			return nil
		},
	}
}
