package dashboards

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pacbench/pacbench/internal/exporter"
	"github.com/pacbench/pacbench/internal/testenv"
)

// dashboardFiles are the provisioned dashboards.
var dashboardFiles = []string{"pacbench-overview.json", "pacbench-consistency.json"}

// datasourceRef is how every panel, target, annotation and query variable
// names its datasource: the dashboard's datasource variable.
const datasourceRef = "${datasource}"

// runFilter is the run selector every query is filtered by (inside its
// aggregations, so that a range never mixes two runs).
const runFilter = `pacbench_run_info{run_id=~"$run"}`

// Dashboard is the part of a Grafana dashboard these tests read.
type Dashboard struct {
	Inputs []struct {
		Name     string `json:"name"`
		Type     string `json:"type"`
		PluginID string `json:"pluginId"`
	} `json:"__inputs"`
	Requires []struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	} `json:"__requires"`
	UID         string  `json:"uid"`
	Title       string  `json:"title"`
	Panels      []Panel `json:"panels"`
	Annotations struct {
		List []struct {
			Name       string      `json:"name"`
			Expr       string      `json:"expr"`
			BuiltIn    int         `json:"builtIn"`
			Datasource *Datasource `json:"datasource"`
		} `json:"list"`
	} `json:"annotations"`
	Templating struct {
		List []Variable `json:"list"`
	} `json:"templating"`
}

// Variable is one template variable.
type Variable struct {
	Name       string      `json:"name"`
	Type       string      `json:"type"`
	Query      any         `json:"query"`
	Definition string      `json:"definition"`
	AllValue   string      `json:"allValue"`
	IncludeAll bool        `json:"includeAll"`
	Multi      bool        `json:"multi"`
	Sort       int         `json:"sort"`
	Datasource *Datasource `json:"datasource"`
	Current    struct {
		Value any `json:"value"`
	} `json:"current"`
}

// Panel is one panel (rows nest panels).
type Panel struct {
	ID          int         `json:"id"`
	Title       string      `json:"title"`
	Type        string      `json:"type"`
	Description string      `json:"description"`
	Repeat      string      `json:"repeat"`
	Datasource  *Datasource `json:"datasource"`
	GridPos     struct{ X, Y, W, H int }
	Targets     []struct {
		RefID   string      `json:"refId"`
		Expr    string      `json:"expr"`
		Instant bool        `json:"instant"`
		DS      *Datasource `json:"datasource"`
	} `json:"targets"`
	Transformations []struct {
		ID      string         `json:"id"`
		Options map[string]any `json:"options"`
	} `json:"transformations"`
	Options map[string]any `json:"options"`
	Panels  []Panel        `json:"panels"`
}

// Datasource references a datasource by uid.
type Datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

func load(t *testing.T, name string) Dashboard {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var d Dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return d
}

// allPanels flattens rows.
func allPanels(ps []Panel) []Panel {
	var out []Panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, allPanels(p.Panels)...)
	}
	return out
}

// query is one PromQL expression of a dashboard and where it comes from.
type query struct {
	where, expr string
	instant     bool
}

// queries lists every panel target and annotation expression of d.
func queries(d Dashboard) []query {
	var out []query
	for _, p := range allPanels(d.Panels) {
		for _, tg := range p.Targets {
			out = append(out, query{fmt.Sprintf("%s: panel %d %q target %s", d.UID, p.ID, p.Title, tg.RefID), tg.Expr, tg.Instant})
		}
	}
	for _, a := range d.Annotations.List {
		if a.Expr != "" {
			out = append(out, query{fmt.Sprintf("%s: annotation %q", d.UID, a.Name), a.Expr, false})
		}
	}
	return out
}

var metricRE = regexp.MustCompile(`\bpacbench_[a-z_]+`)

// knownMetric reports whether name is an exported family or one of a
// histogram/summary's series.
func knownMetric(name string) bool {
	fams := exporter.Families()
	if slices.Contains(fams, name) {
		return true
	}
	for _, suf := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suf); ok && slices.Contains(fams, base) {
			return true
		}
	}
	return false
}

func TestDashboardsStatic(t *testing.T) {
	t.Parallel()
	uids := map[string]bool{}
	for _, f := range dashboardFiles {
		t.Run(f, func(t *testing.T) {
			d := load(t, f)
			if d.UID == "" || uids[d.UID] {
				t.Errorf("uid %q empty or duplicated", d.UID)
			}
			uids[d.UID] = true
			checkImportable(t, f, d)
			checkPanels(t, d)
			qs := queries(d)
			for _, v := range d.Templating.List {
				if v.Type != "query" {
					continue
				}
				qs = append(qs, query{where: "variable " + v.Name, expr: v.Definition})
				if v.Datasource == nil || v.Datasource.UID != datasourceRef {
					t.Errorf("variable %s: datasource %+v, want %s", v.Name, v.Datasource, datasourceRef)
				}
			}
			for _, q := range qs {
				checkQuery(t, q)
			}
			phases := false
			for _, a := range d.Annotations.List {
				if a.BuiltIn == 1 {
					continue
				}
				if a.Datasource == nil || a.Datasource.UID != datasourceRef {
					t.Errorf("annotation %s: datasource %+v", a.Name, a.Datasource)
				}
				phases = phases || strings.Contains(a.Expr, "pacbench_phase_info")
			}
			if !phases {
				t.Error("no annotation of the phase boundaries (pacbench_phase_info)")
			}
		})
	}
}

// checkImportable: the dashboard imports into any Grafana as it is: a
// datasource input (__inputs) that the datasource variable defaults to,
// __requires naming every panel type, and a run selector.
func checkImportable(t *testing.T, file string, d Dashboard) {
	t.Helper()
	if len(d.Inputs) != 1 || d.Inputs[0].Type != "datasource" || d.Inputs[0].PluginID != "prometheus" {
		t.Fatalf("__inputs = %+v, want one prometheus datasource input", d.Inputs)
	}
	input := "${" + d.Inputs[0].Name + "}"
	b, _ := os.ReadFile(file)
	if !strings.Contains(string(b), input) {
		t.Errorf("the input %s is never used", input)
	}
	req := map[string]bool{}
	for _, r := range d.Requires {
		req[r.Type+"/"+r.ID] = true
	}
	for _, p := range allPanels(d.Panels) {
		if p.Type != "row" && !req["panel/"+p.Type] {
			t.Errorf("__requires lacks panel %s", p.Type)
		}
	}
	if !req["grafana/grafana"] || !req["datasource/prometheus"] {
		t.Errorf("__requires = %+v, want grafana and the prometheus datasource", d.Requires)
	}
	vars := map[string]Variable{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v
	}
	ds, run := vars["datasource"], vars["run"]
	if ds.Type != "datasource" || ds.Query != "prometheus" || ds.Current.Value != input {
		t.Errorf("datasource variable %+v, want a prometheus datasource variable defaulting to %s", ds, input)
	}
	if run.Definition != "label_values(pacbench_run_info, run_id)" || !run.IncludeAll || run.AllValue != ".*" || run.Sort != 2 {
		t.Errorf("run variable %+v, want the run ids of pacbench_run_info, newest first, All = .*", run)
	}
}

// checkPanels: every panel has a description, the datasource variable, a
// query; heatmaps are one per level; the visibility buckets sort as
// numbers.
func checkPanels(t *testing.T, d Dashboard) {
	t.Helper()
	ids := map[int]bool{}
	for _, p := range allPanels(d.Panels) {
		if ids[p.ID] {
			t.Errorf("panel id %d duplicated", p.ID)
		}
		ids[p.ID] = true
		if p.GridPos.X+p.GridPos.W > 24 || p.GridPos.W <= 0 || p.GridPos.H <= 0 {
			t.Errorf("panel %q: bad gridPos %+v", p.Title, p.GridPos)
		}
		if p.Type == "row" {
			continue
		}
		if strings.TrimSpace(p.Description) == "" {
			t.Errorf("panel %q has no description", p.Title)
		}
		if p.Datasource == nil || p.Datasource.UID != datasourceRef {
			t.Errorf("panel %q: datasource %+v, want uid %s", p.Title, p.Datasource, datasourceRef)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			if tg.DS != nil && tg.DS.UID != datasourceRef {
				t.Errorf("panel %q target %s: datasource %+v", p.Title, tg.RefID, tg.DS)
			}
		}
		if p.Type == "heatmap" && (p.Repeat != "level" || !strings.Contains(p.Title, "$level")) {
			t.Errorf("heatmap %q mixes levels: want one per level (repeat: level)", p.Title)
		}
		for _, tg := range p.Targets {
			if strings.Contains(tg.Expr, "t_le") {
				checkNumericSort(t, p)
			}
		}
	}
}

// checkNumericSort: a chart over the t_le buckets converts them to
// numbers and sorts by them (as strings "0.001" < "0.0005").
func checkNumericSort(t *testing.T, p Panel) {
	t.Helper()
	step := 0
	for _, tr := range p.Transformations {
		js, _ := json.Marshal(tr.Options)
		switch {
		case step == 0 && tr.ID == "convertFieldType" && strings.Contains(string(js), `"destinationType":"number","targetField":"t_le"`):
			step = 1
		case step == 1 && tr.ID == "sortBy" && strings.Contains(string(js), `"field":"t_le"`):
			step = 2
		}
	}
	if step != 2 || p.Options["xField"] != "t_le" {
		t.Errorf("panel %q: t_le buckets are not sorted as numbers (transformations %+v)", p.Title, p.Transformations)
	}
}

var byClause = regexp.MustCompile(`\bby \(([^)]*)\)`)

// checkQuery: a query names known pacbench metrics, is filtered by the run
// selector, and never aggregates op series across ops.
func checkQuery(t *testing.T, q query) {
	t.Helper()
	if strings.TrimSpace(q.expr) == "" {
		t.Errorf("%s: empty expression", q.where)
		return
	}
	names := metricRE.FindAllString(q.expr, -1)
	if len(names) == 0 {
		t.Errorf("%s: uses no pacbench metric: %s", q.where, q.expr)
	}
	for _, n := range names {
		if !knownMetric(n) {
			t.Errorf("%s: unknown metric %s (exporter.Families: %v)", q.where, n, exporter.Families())
		}
	}
	if strings.HasPrefix(q.where, "variable") {
		return
	}
	if !strings.Contains(q.expr, runFilter) {
		t.Errorf("%s: not filtered by the run selector %s: %s", q.where, runFilter, q.expr)
	}
	if strings.Contains(q.expr, "pacbench_op_duration") {
		for _, m := range byClause.FindAllStringSubmatch(q.expr, -1) {
			if !slices.Contains(strings.Split(strings.ReplaceAll(m[1], " ", ""), ","), "op") {
				t.Errorf("%s: by (%s) mixes op kinds: %s", q.where, m[1], q.expr)
			}
		}
	}
}

// TestProvisioning checks the provisioning files: the datasource the
// stack provisions is the default one (the dashboards' datasource
// variable falls back to it) and the dashboard provider exists.
func TestProvisioning(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("provisioning", "datasources", "pacbench.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^\s+type:\s*prometheus\s*$`).Match(b) || !regexp.MustCompile(`(?m)^\s+isDefault:\s*true\s*$`).Match(b) {
		t.Errorf("datasource provisioning: want the default datasource, of type prometheus:\n%s", b)
	}
	if _, err := os.Stat(filepath.Join("provisioning", "dashboards", "pacbench.yaml")); err != nil {
		t.Error(err)
	}
}

// expand substitutes Grafana's macros and template variables (All →
// the variable's allValue, ".*") as Grafana would for a range of rng at a
// scrape interval of 1 s.
func expand(expr string, rng time.Duration) string {
	secs := int(rng.Seconds() + 0.999)
	r := strings.NewReplacer(
		"$__rate_interval", "4s", // max(interval + scrape, 4 × scrape) at 1 s
		"${__rate_interval}", "4s",
		"$__interval", "1s",
		"${__interval}", "1s",
		"$__range", strconv.Itoa(secs)+"s",
		"${__range}", strconv.Itoa(secs)+"s",
	)
	out := r.Replace(expr)
	return regexp.MustCompile(`\$\{?[a-z_]+\}?`).ReplaceAllString(out, ".*")
}

// expandRun is expand with the run selector on run id.
func expandRun(expr, id string, rng time.Duration) string {
	return expand(strings.ReplaceAll(strings.ReplaceAll(expr, "${run}", id), "$run", id), rng)
}

func TestExpand(t *testing.T) {
	t.Parallel()
	got := expand(`sum(rate(x{level=~"$level",op=~"${op}"}[$__rate_interval])) / increase(y[$__range])`, 61500*time.Millisecond)
	want := `sum(rate(x{level=~".*",op=~".*"}[4s])) / increase(y[62s])`
	if got != want {
		t.Errorf("expand = %s, want %s", got, want)
	}
}

// freePort returns a free loopback TCP port.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// promResult is the data of an /api/v1/query or query_range answer.
type promResult struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric     map[string]string `json:"metric"`
			Values     [][2]any          `json:"values"`
			Value      []any             `json:"value"`
			Histograms []any             `json:"histograms"`
			Histogram  []any             `json:"histogram"`
		} `json:"result"`
	} `json:"data"`
}

// samples counts the samples of r.
func (r promResult) samples() int {
	n := 0
	for _, s := range r.Data.Result {
		n += len(s.Values) + len(s.Histograms)
		if len(s.Value) > 0 || len(s.Histogram) > 0 {
			n++
		}
	}
	return n
}

// timeRange returns the first and last sample timestamps of a range
// result (seconds).
func (r promResult) timeRange() (first, last float64) {
	first = math.Inf(1)
	last = math.Inf(-1)
	for _, s := range r.Data.Result {
		for _, v := range s.Values {
			ts, _ := v[0].(float64)
			first, last = min(first, ts), max(last, ts)
		}
		for _, h := range s.Histograms {
			if pair, ok := h.([]any); ok && len(pair) == 2 {
				ts, _ := pair[0].(float64)
				first, last = min(first, ts), max(last, ts)
			}
		}
	}
	return first, last
}

// getJSON decodes the JSON answer of a GET.
func getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

func promGet(ctx context.Context, base, path string, params url.Values) (promResult, error) {
	var r promResult
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path+"?"+params.Encode(), nil)
	if err != nil {
		return r, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return r, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return r, fmt.Errorf("%s: %w: %s", path, err, body)
	}
	if r.Status != "success" {
		return r, fmt.Errorf("%s: %s: %s", path, r.ErrorType, r.Error)
	}
	return r, nil
}

// promServer is one real Prometheus scraping the pacbench metrics port.
type promServer struct {
	name, base string
	major      int // the major version it must report
}

// startPrometheus starts bin on a free loopback port, scraping target
// every second with native histograms, and waits until it is ready and
// reports major version want. It is killed when the test ends.
func startPrometheus(ctx context.Context, t *testing.T, name, bin, target string, want int) promServer {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg := fmt.Sprintf("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: pacbench\n    static_configs:\n      - targets: [%q]\n", target)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, bin, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+addr, "--enable-feature=native-histograms", "--log.level=warn")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s prometheus: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("%s prometheus log:\n%s", name, b)
		}
	})
	p := promServer{name: name, base: "http://" + addr, major: want}
	waitReady(ctx, t, p.base+"/-/ready")
	var info struct {
		Data struct {
			Version string `json:"version"`
		} `json:"data"`
	}
	if err := getJSON(ctx, p.base+"/api/v1/status/buildinfo", &info); err != nil {
		t.Fatalf("%s prometheus buildinfo: %v", name, err)
	}
	if major, _, _ := strings.Cut(info.Data.Version, "."); major != strconv.Itoa(want) {
		t.Fatalf("%s prometheus is version %q, want %d.x", name, info.Data.Version, want)
	}
	t.Logf("%s prometheus %s on %s", name, info.Data.Version, addr)
	return p
}

// pacbenchRun is one run of the built pacbench binary.
type pacbenchRun struct {
	id         string
	start, end time.Time
	code       int
	summary    []byte
}

// runQuickstart runs the built-in quickstart (phases of dur) serving
// /metrics on addr, with the extra flags, and reads its summary.json.
func runQuickstart(ctx context.Context, t *testing.T, bin, addr, out, id, dur string, extra ...string) pacbenchRun {
	t.Helper()
	r := pacbenchRun{id: id, start: time.Now()}
	args := append([]string{"run", "--duration", dur, "--metrics-addr", addr, "--linger", "3s", "--out", out, "--run-id", id}, extra...)
	cmd := exec.CommandContext(ctx, bin, args...)
	logPath := filepath.Join(out, id+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	err = cmd.Run()
	r.end = time.Now()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("pacbench run %s: %v", id, err)
	}
	if r.summary, err = os.ReadFile(filepath.Join(out, id, "summary.json")); err != nil {
		b, _ := os.ReadFile(logPath)
		t.Fatalf("run %s (exit %d) wrote no summary: %v\n%s", id, r.code, err, b)
	}
	return r
}

// TestPanelsAgainstPrometheus runs the built-in quickstart twice against
// the embedded etcd cluster — run A with a threshold that fails (exit 3),
// run B with thresholds that pass (exit 0) — scraped every second by two
// real Prometheus servers at once: Debian's 2.x and the 3.x the compose
// stack ships (PACBENCH_PROMETHEUS3_BIN, built from its Go module by
// scripts/prometheus.sh). On both it evaluates every dashboard query,
// annotation and variable with the run selector on run B and requires
// each to return data, only from run B's time; with run A selected, no
// data from run B's.
func TestPanelsAgainstPrometheus(t *testing.T) {
	testenv.Short(t)
	bin2 := testenv.Require(t, "PACBENCH_PROMETHEUS_BIN",
		"run scripts/prometheus.sh install, then export PACBENCH_PROMETHEUS_BIN=$(scripts/prometheus.sh path)")
	bin3 := testenv.Require(t, "PACBENCH_PROMETHEUS3_BIN",
		"run scripts/prometheus.sh build3, then export PACBENCH_PROMETHEUS3_BIN=$(scripts/prometheus.sh path3)")
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	tmp := t.TempDir()

	// pacbench, built from this tree.
	bin := filepath.Join(tmp, "pacbench")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/pacbench")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/pacbench: %v\n%s", err, out)
	}
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	proms := []promServer{
		startPrometheus(ctx, t, "debian", bin2, metricsAddr, 2),
		startPrometheus(ctx, t, "v3", bin3, metricsAddr, 3),
	}
	out := filepath.Join(tmp, "results")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	a := runQuickstart(ctx, t, bin, metricsAddr, out, "run-a", "2s", "--threshold", "read.p99 < 1us")
	b := runQuickstart(ctx, t, bin, metricsAddr, out, "run-b", "3s",
		"--threshold", "kept_up == true", "--threshold", "linearizable: stale_ratio(baseline) == 0")
	checkThresholdRun(t, a, 3, false)
	checkThresholdRun(t, b, 0, true)

	for _, p := range proms {
		t.Run(p.name, func(t *testing.T) {
			lastB := lastScrape(ctx, t, p, b)
			for _, f := range dashboardFiles {
				d := load(t, f)
				for _, q := range queries(d) {
					t.Run(q.where, func(t *testing.T) { checkPanelQuery(ctx, t, p, q, a, b, lastB) })
				}
				for _, v := range d.Templating.List {
					if v.Type == "query" {
						t.Run(d.UID+": variable "+v.Name, func(t *testing.T) { checkVariable(ctx, t, p, v, a, b) })
					}
				}
			}
			checkPhaseAnnotations(ctx, t, p, b)
		})
	}
}

// checkThresholdRun: the run exited with code, its results are written,
// and summary.json records its thresholds passing (or not).
func checkThresholdRun(t *testing.T, r pacbenchRun, code int, pass bool) {
	t.Helper()
	var s struct {
		Thresholds []struct {
			Threshold string `json:"threshold"`
			Pass      bool   `json:"pass"`
			Values    []any  `json:"values"`
		} `json:"thresholds"`
	}
	if err := json.Unmarshal(r.summary, &s); err != nil {
		t.Fatal(err)
	}
	if r.code != code || len(s.Thresholds) == 0 {
		t.Errorf("run %s: exit %d with thresholds %+v, want exit %d", r.id, r.code, s.Thresholds, code)
	}
	for _, th := range s.Thresholds {
		if th.Pass != pass || len(th.Values) == 0 {
			t.Errorf("run %s: threshold %+v, want pass=%v with values", r.id, th, pass)
		}
	}
}

// lastScrape returns when p last scraped run r (instant queries are
// evaluated there, as Grafana would while the run is live: once pacbench
// exits its series go stale).
func lastScrape(ctx context.Context, t *testing.T, p promServer, r pacbenchRun) float64 {
	t.Helper()
	up, err := promGet(ctx, p.base, "/api/v1/query_range", rangeParams(`pacbench_run_info{run_id="`+r.id+`"}`, r.start, r.end))
	if err != nil || up.samples() == 0 {
		t.Fatalf("%s prometheus never scraped run %s (%v)", p.name, r.id, err)
	}
	vals := up.Data.Result[0].Values
	last, _ := vals[len(vals)-1][0].(float64)
	return last
}

func rangeParams(expr string, start, end time.Time) url.Values {
	return url.Values{
		"query": {expr},
		"start": {strconv.FormatFloat(float64(start.UnixMilli())/1000, 'f', 3, 64)},
		"end":   {strconv.FormatFloat(float64(end.UnixMilli())/1000, 'f', 3, 64)},
		"step":  {"1"},
	}
}

// checkPanelQuery evaluates q with run B selected (data required, none
// from before B started) and, for range queries, with run A selected
// over both runs (nothing from B's time).
func checkPanelQuery(ctx context.Context, t *testing.T, p promServer, q query, a, b pacbenchRun, lastB float64) {
	expr := expandRun(q.expr, b.id, b.end.Sub(b.start))
	var r promResult
	var err error
	if q.instant {
		r, err = promGet(ctx, p.base, "/api/v1/query", url.Values{"query": {expr}, "time": {strconv.FormatFloat(lastB, 'f', 3, 64)}})
	} else {
		r, err = promGet(ctx, p.base, "/api/v1/query_range", rangeParams(expr, a.start, b.end))
	}
	if err != nil {
		t.Fatalf("%s\n%v", expr, err)
	}
	if r.samples() == 0 {
		t.Errorf("query returned no data: %s", expr)
	}
	if q.instant {
		return
	}
	if first, _ := r.timeRange(); first < float64(b.start.UnixMilli())/1000 {
		t.Errorf("run %s selected, but data at %.3f, before it started (%s): %s", b.id, first, b.start.Format(time.RFC3339Nano), expr)
	}
	exprA := expandRun(q.expr, a.id, b.end.Sub(a.start))
	ra, err := promGet(ctx, p.base, "/api/v1/query_range", rangeParams(exprA, a.start, b.end))
	if err != nil {
		t.Fatalf("%s\n%v", exprA, err)
	}
	if ra.samples() == 0 && strings.Contains(q.expr, "pacbench_ops_total") {
		t.Errorf("run %s selected: no data: %s", a.id, exprA)
	}
	// Run A's series are stale from its first missed scrape after it exited.
	if _, last := ra.timeRange(); ra.samples() > 0 && last > float64(b.start.UnixMilli())/1000+1.5 {
		t.Errorf("run %s selected, but data at %.3f, during run %s (started %s): %s", a.id, last, b.id, b.start.Format(time.RFC3339Nano), exprA)
	}
}

// checkVariable: a query variable lists values over both runs; the run
// variable lists both run ids.
func checkVariable(ctx context.Context, t *testing.T, p promServer, v Variable, a, b pacbenchRun) {
	metric, label, ok := parseLabelValues(v.Definition)
	if !ok {
		t.Fatalf("variable %s: unsupported definition %q", v.Name, v.Definition)
	}
	vals, err := labelValues(ctx, p.base, label, expandRun(metric, b.id, b.end.Sub(b.start)), a.start, b.end)
	if err != nil {
		t.Fatal(err)
	}
	if len(vals) == 0 {
		t.Errorf("variable %s: no values for %s", v.Name, v.Definition)
	}
	if v.Name == "run" && (!slices.Contains(vals, a.id) || !slices.Contains(vals, b.id)) {
		t.Errorf("run variable lists %v, want %s and %s", vals, a.id, b.id)
	}
}

// checkPhaseAnnotations: the phase annotation shows every phase of run B,
// in order.
func checkPhaseAnnotations(ctx context.Context, t *testing.T, p promServer, b pacbenchRun) {
	r, err := promGet(ctx, p.base, "/api/v1/query_range",
		rangeParams(`max by (phase, index) (pacbench_phase_info and on(instance, job) pacbench_run_info{run_id="`+b.id+`"}) > 0`, b.start, b.end))
	if err != nil {
		t.Fatal(err)
	}
	type span struct {
		name        string
		first, last float64
	}
	var spans []span
	for _, s := range r.Data.Result {
		if len(s.Values) == 0 {
			continue
		}
		f, _ := s.Values[0][0].(float64)
		l, _ := s.Values[len(s.Values)-1][0].(float64)
		spans = append(spans, span{s.Metric["index"] + ":" + s.Metric["phase"], f, l})
	}
	slices.SortFunc(spans, func(x, y span) int { return strings.Compare(x.name, y.name) })
	want := []string{"0:baseline", "1:latency", "2:partition", "3:healed"}
	var got []string
	for i, sp := range spans {
		got = append(got, sp.name)
		if i > 0 && sp.first <= spans[i-1].first {
			t.Errorf("phase %s starts at %.3f, not after %s (%.3f)", sp.name, sp.first, spans[i-1].name, spans[i-1].first)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("phase annotations %v, want %v", got, want)
	}
}

// parseLabelValues splits Grafana's label_values(metric, label).
func parseLabelValues(def string) (metric, label string, ok bool) {
	inner, ok := strings.CutPrefix(strings.TrimSpace(def), "label_values(")
	if !ok {
		return "", "", false
	}
	inner = strings.TrimSuffix(inner, ")")
	i := strings.LastIndex(inner, ",")
	if i < 0 {
		return "", "", false
	}
	return strings.TrimSpace(inner[:i]), strings.TrimSpace(inner[i+1:]), true
}

func labelValues(ctx context.Context, base, label, match string, start, end time.Time) ([]string, error) {
	params := url.Values{
		"match[]": {match},
		"start":   {strconv.FormatInt(start.Unix(), 10)},
		"end":     {strconv.FormatInt(end.Unix()+1, 10)},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/label/"+label+"/values?"+params.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Status string   `json:"status"`
		Error  string   `json:"error"`
		Data   []string `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, err
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("label values %s: %s", label, r.Error)
	}
	return r.Data, nil
}

func waitReady(ctx context.Context, t *testing.T, u string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("prometheus not ready at %s after 30 s", u)
}
