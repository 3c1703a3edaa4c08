package htmlreport

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
)

//go:embed assets/uPlot.iife.min.js assets/uPlot.min.css assets/report.js assets/report.css assets/page.html
var assets embed.FS

// page is the HTML shell shared by report.html and compare.html: the
// embedded stylesheets and scripts inlined, the data as JSON.
var page = template.Must(template.New("page.html").ParseFS(assets, "assets/page.html"))

type pageData struct {
	Title    string
	Kind     string
	UplotCSS template.CSS
	CSS      template.CSS
	UplotJS  template.JS
	JS       template.JS
	Data     template.JS
}

// Render writes report.html for d: one self-contained page (no network:
// every script and style is inlined, and its Content-Security-Policy
// forbids fetching anything).
func Render(w io.Writer, d *Data) error {
	return renderPage(w, "pacbench report — "+d.Run.ID, "report", d)
}

// renderPage renders the shell with v as its data.
func renderPage(w io.Writer, title, kind string, v any) error {
	js, err := json.Marshal(v) // escapes <, > and &: safe inside <script>
	if err != nil {
		return fmt.Errorf("report data: %w", err)
	}
	read := func(name string) string {
		b, err := assets.ReadFile("assets/" + name)
		if err != nil {
			panic(err) // embedded: cannot fail
		}
		return string(b)
	}
	pd := pageData{Title: title, Kind: kind,
		UplotCSS: template.CSS(read("uPlot.min.css")), CSS: template.CSS(read("report.css")), // #nosec: embedded assets
		UplotJS: template.JS(read("uPlot.iife.min.js")), JS: template.JS(read("report.js")),
		Data: template.JS(js)}
	var buf bytes.Buffer
	if err := page.Execute(&buf, pd); err != nil {
		return fmt.Errorf("render %s: %w", kind, err)
	}
	_, err = w.Write(buf.Bytes())
	return err
}
