package dashboards

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
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

const datasourceUID = "pacbench-prom"

// Dashboard is the part of a Grafana dashboard these tests read.
type Dashboard struct {
	UID         string  `json:"uid"`
	Title       string  `json:"title"`
	Panels      []Panel `json:"panels"`
	Annotations struct {
		List []struct {
			Name       string      `json:"name"`
			Expr       string      `json:"expr"`
			Datasource *Datasource `json:"datasource"`
		} `json:"list"`
	} `json:"annotations"`
	Templating struct {
		List []struct {
			Name       string      `json:"name"`
			Type       string      `json:"type"`
			Definition string      `json:"definition"`
			AllValue   string      `json:"allValue"`
			Datasource *Datasource `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
}

// Panel is one panel (rows nest panels).
type Panel struct {
	ID         int         `json:"id"`
	Title      string      `json:"title"`
	Type       string      `json:"type"`
	Datasource *Datasource `json:"datasource"`
	GridPos    struct{ X, Y, W, H int }
	Targets    []struct {
		RefID   string      `json:"refId"`
		Expr    string      `json:"expr"`
		Instant bool        `json:"instant"`
		DS      *Datasource `json:"datasource"`
	} `json:"targets"`
	Panels []Panel `json:"panels"`
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
				if p.Datasource == nil || p.Datasource.UID != datasourceUID {
					t.Errorf("panel %q: datasource %+v, want uid %s", p.Title, p.Datasource, datasourceUID)
				}
				if len(p.Targets) == 0 {
					t.Errorf("panel %q has no query", p.Title)
				}
				for _, tg := range p.Targets {
					if tg.DS != nil && tg.DS.UID != datasourceUID {
						t.Errorf("panel %q target %s: datasource %+v", p.Title, tg.RefID, tg.DS)
					}
				}
			}
			qs := queries(d)
			for _, v := range d.Templating.List {
				qs = append(qs, query{where: "variable " + v.Name, expr: v.Definition})
				if v.Datasource == nil || v.Datasource.UID != datasourceUID {
					t.Errorf("variable %s: datasource %+v", v.Name, v.Datasource)
				}
			}
			for _, q := range qs {
				if strings.TrimSpace(q.expr) == "" {
					t.Errorf("%s: empty expression", q.where)
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
			}
		})
	}
}

// TestProvisioning checks the provisioning files name the datasource uid
// the dashboards use.
func TestProvisioning(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("provisioning", "datasources", "pacbench.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^\s+uid:\s*` + datasourceUID + `\s*$`).Match(b) {
		t.Errorf("datasource provisioning lacks uid %s", datasourceUID)
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

// TestPanelsAgainstPrometheus runs a short real pacbench run (the built-in
// quickstart against the embedded etcd cluster), scraped every second by a
// real Prometheus with native histograms enabled, then evaluates every
// dashboard query, annotation and variable over the run and requires each
// to return data.
func TestPanelsAgainstPrometheus(t *testing.T) {
	testenv.Short(t)
	promBin := testenv.Require(t, "PACBENCH_PROMETHEUS_BIN",
		"run scripts/prometheus.sh install, then export PACBENCH_PROMETHEUS_BIN=$(scripts/prometheus.sh path)")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	tmp := t.TempDir()

	// pacbench, built from this tree.
	bin := filepath.Join(tmp, "pacbench")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/pacbench")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/pacbench: %v\n%s", err, out)
	}

	// Prometheus on loopback, scraping the pacbench metrics port every second.
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	promAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: pacbench
    static_configs:
      - targets: [%q]
`, metricsAddr)
	cfgPath := filepath.Join(tmp, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	promLog, err := os.Create(filepath.Join(tmp, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer promLog.Close()
	prom := exec.CommandContext(ctx, promBin,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(tmp, "tsdb"),
		"--web.listen-address="+promAddr,
		"--enable-feature=native-histograms",
		"--log.level=warn",
	)
	prom.Stdout, prom.Stderr = promLog, promLog
	if err := prom.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	defer func() {
		_ = prom.Process.Kill()
		_ = prom.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(promLog.Name())
			t.Logf("prometheus log:\n%s", b)
		}
	}()
	base := "http://" + promAddr
	waitReady(ctx, t, base+"/-/ready")

	// The run: 4 phases × 3 s, endpoint kept up 10 s after it.
	start := time.Now()
	run := exec.CommandContext(ctx, bin, "run", "--duration", "3s", "--metrics-addr", metricsAddr,
		"--linger", "10s", "--out", filepath.Join(tmp, "results"))
	runLog, err := os.Create(filepath.Join(tmp, "run.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer runLog.Close()
	run.Stdout, run.Stderr = runLog, runLog
	if err := run.Run(); err != nil {
		b, _ := os.ReadFile(runLog.Name())
		t.Fatalf("pacbench run: %v\n%s", err, b)
	}
	end := time.Now()
	rng := end.Sub(start)

	rangeParams := func(expr string) url.Values {
		return url.Values{
			"query": {expr},
			"start": {strconv.FormatFloat(float64(start.UnixMilli())/1000, 'f', 3, 64)},
			"end":   {strconv.FormatFloat(float64(end.UnixMilli())/1000, 'f', 3, 64)},
			"step":  {"1"},
		}
	}
	// Sanity: Prometheus did scrape pacbench. Instant queries are evaluated
	// at the last successful scrape, as Grafana would while the run is live
	// (after pacbench exits its series go stale).
	up, err := promGet(ctx, base, "/api/v1/query_range", rangeParams("up == 1"))
	if err != nil || up.samples() == 0 {
		t.Fatalf("prometheus never scraped pacbench (%v)", err)
	}
	vals := up.Data.Result[0].Values
	lastUp, _ := vals[len(vals)-1][0].(float64)

	for _, f := range dashboardFiles {
		d := load(t, f)
		for _, q := range queries(d) {
			t.Run(q.where, func(t *testing.T) {
				expr := expand(q.expr, rng)
				var r promResult
				var err error
				if q.instant {
					r, err = promGet(ctx, base, "/api/v1/query", url.Values{"query": {expr},
						"time": {strconv.FormatFloat(lastUp, 'f', 3, 64)}})
				} else {
					r, err = promGet(ctx, base, "/api/v1/query_range", rangeParams(expr))
				}
				if err != nil {
					t.Fatalf("%s\n%v", expr, err)
				}
				if r.samples() == 0 {
					t.Errorf("query returned no data: %s", expr)
				}
			})
		}
		for _, v := range d.Templating.List {
			t.Run(d.UID+": variable "+v.Name, func(t *testing.T) {
				metric, label, ok := parseLabelValues(v.Definition)
				if !ok {
					t.Fatalf("variable %s: unsupported definition %q", v.Name, v.Definition)
				}
				lr, err := labelValues(ctx, base, label, expand(metric, rng), start, end)
				if err != nil {
					t.Fatal(err)
				}
				if len(lr) == 0 {
					t.Errorf("variable %s: no values for %s", v.Name, v.Definition)
				}
			})
		}
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
