// Package pagetest looks at report.html and compare.html as a person
// would: in a real headless Chromium (internal/browser), from file://,
// with the network off. It fails the test on any console error or
// exception, on any request that is not the page itself, and on any chart
// that did not draw what its data says it should; it writes a screenshot
// as a test artifact. A missing browser fails the test in CI and skips it
// elsewhere (testenv).
package pagetest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pacbench/pacbench/internal/browser"
	"github.com/pacbench/pacbench/internal/htmlreport"
	"github.com/pacbench/pacbench/internal/testenv"
)

// EnvArtifacts names the directory screenshots are written to (default:
// pacbench-artifacts under the system's temporary directory).
const EnvArtifacts = "PACBENCH_ARTIFACTS"

// ArtifactDir returns (and creates) the directory of test artifacts.
func ArtifactDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv(EnvArtifacts)
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "pacbench-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("artifacts: %v", err)
	}
	return dir
}

// Result is what the page showed.
type Result struct {
	// Charts as drawn (data-chart, data-series, data-points).
	Charts []htmlreport.Chart
	// Screenshot is the PNG written to the artifact directory.
	Screenshot string
}

// Options of Check. Zero values are documented defaults.
type Options struct {
	// Shot names the screenshot file in the artifact directory.
	Shot string
	// ShotHeight limits the screenshot to the page's top (0: whole page).
	ShotHeight int
	// Timeout bounds the whole check (default 3 minutes: a loaded 2-core
	// machine starts Chromium slowly).
	Timeout time.Duration
}

// Check opens file (an HTML file on disk) and checks it against want.
func Check(t testing.TB, file string, want []htmlreport.Chart, o Options) Result {
	t.Helper()
	bin, err := browser.Find()
	if err != nil {
		testenv.Missing(t, err.Error()+" (scripts/test.sh installs it)")
	}
	if o.Timeout == 0 {
		o.Timeout = 3 * time.Minute
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.Timeout)
	defer cancel()
	b, err := browser.Launch(browser.Options{Binary: bin})
	if err != nil {
		t.Fatalf("launch chromium: %v", err)
	}
	defer func() {
		if err := b.Close(); err != nil {
			t.Errorf("close chromium: %v", err)
		}
	}()
	url := "file://" + abs
	p, err := b.Open(ctx, url)
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	if err := p.WaitFor(ctx, `document.getElementById('app') && document.getElementById('app').dataset.rendered === '1' &&
		Array.from(document.querySelectorAll('[data-chart]')).every(e => e.dataset.drawn === '1')`); err != nil {
		t.Fatalf("page never finished drawing: %v\nconsole: %v", err, p.Console())
	}
	var res Result
	res.Charts = drawn(ctx, t, p)
	compare(t, want, res.Charts)
	checkPixels(ctx, t, p)
	for _, m := range p.Console() {
		if m.IsError() {
			t.Errorf("console: %s", m)
		}
	}
	for _, r := range p.Requests() {
		if r != url && !strings.HasPrefix(r, "data:") {
			t.Errorf("the page requested %s (it must need nothing but itself)", r)
		}
	}
	png, err := p.Screenshot(ctx, 0, o.ShotHeight)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if o.Shot == "" {
		o.Shot = strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()) + ".png"
	}
	res.Screenshot = filepath.Join(ArtifactDir(t), o.Shot)
	if err := os.WriteFile(res.Screenshot, png, 0o644); err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	t.Logf("screenshot: %s (%d bytes)", res.Screenshot, len(png))
	return res
}

func drawn(ctx context.Context, t testing.TB, p *browser.Page) []htmlreport.Chart {
	t.Helper()
	var raw []struct {
		ID     string `json:"id"`
		Series string `json:"series"`
		Points string `json:"points"`
	}
	if err := p.Eval(ctx, `Array.from(document.querySelectorAll('[data-chart]')).map(e => ({id: e.dataset.chart || e.getAttribute('data-chart'),
		series: e.getAttribute('data-series'), points: e.getAttribute('data-points')}))`, &raw); err != nil {
		t.Fatal(err)
	}
	out := make([]htmlreport.Chart, len(raw))
	for i, r := range raw {
		out[i].ID = r.ID
		_, _ = fmt.Sscan(r.Series, &out[i].Series)
		_, _ = fmt.Sscan(r.Points, &out[i].Points)
	}
	return out
}

// compare requires exactly the wanted charts, each with its series and
// points.
func compare(t testing.TB, want, got []htmlreport.Chart) {
	t.Helper()
	g := map[string]htmlreport.Chart{}
	for _, c := range got {
		if _, dup := g[c.ID]; dup {
			t.Errorf("chart %q drawn twice", c.ID)
		}
		g[c.ID] = c
	}
	for _, w := range want {
		c, ok := g[w.ID]
		if !ok {
			t.Errorf("chart %q missing from the page (drawn: %s)", w.ID, htmlreport.ChartIDs(got))
			continue
		}
		if c != w {
			t.Errorf("chart %q drew %d series, %d points; its data has %d series, %d points", w.ID, c.Series, c.Points, w.Series, w.Points)
		}
		delete(g, w.ID)
	}
	for id := range g {
		t.Errorf("chart %q drawn but not in the data", id)
	}
	if len(want) == 0 {
		t.Error("no chart expected: the test checks nothing")
	}
}

// checkPixels requires every chart canvas with points to have painted
// something beyond its background.
func checkPixels(ctx context.Context, t testing.TB, p *browser.Page) {
	t.Helper()
	var blank []string
	err := p.Eval(ctx, `Array.from(document.querySelectorAll('[data-chart]')).filter(e => e.getAttribute('data-points') !== '0').filter(e => {
		const c = e.querySelector('canvas');
		if (!c) return e.tagName.toLowerCase() !== 'svg' && !e.querySelector('table') && !e.classList.contains('card');
		const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
		for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) return false;
		return true;
	}).map(e => e.getAttribute('data-chart'))`, &blank)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range blank {
		t.Errorf("chart %q has points but its canvas is blank", id)
	}
}

var dataRe = regexp.MustCompile(`(?s)<script id="pacbench-data" type="application/json">(.*?)</script>`)

// Embedded decodes the data document embedded in the page file into v.
func Embedded(t testing.TB, file string, v any) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	m := dataRe.FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s: no embedded data", file)
	}
	if err := json.Unmarshal(m[1], v); err != nil {
		t.Fatalf("%s: embedded data: %v", file, err)
	}
}
