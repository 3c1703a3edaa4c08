package sink

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/pacbench/pacbench/internal/report"
)

// files is the base of the sinks that only write files at the end: they
// ignore the run's start and intervals.
type files struct {
	names report.Names
}

// Start implements Sink.
func (f *files) Start(info Info) error { f.names = info.Names; return nil }

// AddInterval implements Sink.
func (f *files) AddInterval(Tick) error { return nil }

// Finish implements Sink.
func (f *files) Finish(*End) error { return nil }

// summarySink writes summary.json.
type summarySink struct{ files }

// NewSummary is the Factory of summary.json (always on).
func NewSummary(context.Context, Config) (Sink, error) { return &summarySink{}, nil }

// WriteFiles implements FileWriter. Non-finite numbers are written as
// null and noted in the summary itself (and the manifest).
func (s *summarySink) WriteFiles(dir *Dir, end *End) error {
	if end.Summary == nil {
		return nil
	}
	return writeJSON(dir, "summary.json", end.Summary, end.AddNote)
}

// writeJSON encodes v with MarshalJSON; when values had to be nulled, the
// paths are noted (with note, which must reach v's own notes) and v is
// encoded again so that it carries its note.
func writeJSON(dir *Dir, name string, v any, note func(string)) error {
	b, nulled, err := MarshalJSON(v)
	if err == nil && len(nulled) > 0 {
		for _, p := range nulled {
			note(fmt.Sprintf("%s: non-finite value written as null: %s", name, p))
		}
		b, _, err = MarshalJSON(v)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return dir.WriteFile(name, b)
}

// manifestSink writes manifest.json.
type manifestSink struct{ files }

// NewManifest is the Factory of manifest.json (always on).
func NewManifest(context.Context, Config) (Sink, error) { return &manifestSink{}, nil }

// WriteFiles implements FileWriter.
func (s *manifestSink) WriteFiles(dir *Dir, end *End) error {
	if end.Manifest == nil {
		return nil
	}
	// Noted in the manifest only: summary.json is written already, and the
	// summary printed on stdout must stay its exact copy.
	return writeJSON(dir, "manifest.json", end.Manifest, func(n string) {
		if !slices.Contains(end.Manifest.Notes, n) {
			end.Manifest.Notes = append(end.Manifest.Notes, n)
		}
	})
}

// csvSink writes summary.csv.
type csvSink struct{ files }

// NewCSV is the Factory of summary.csv (always on).
func NewCSV(context.Context, Config) (Sink, error) { return &csvSink{}, nil }

// WriteFiles implements FileWriter.
func (s *csvSink) WriteFiles(dir *Dir, end *End) error {
	if end.Summary == nil {
		return nil
	}
	b, err := report.CSV(end.Summary)
	if err != nil {
		return fmt.Errorf("summary.csv: %w", err)
	}
	return dir.WriteFile("summary.csv", b)
}

// measurementsSink writes measurements.json.
type measurementsSink struct{ files }

// NewMeasurements is the Factory of measurements.json (always on): the
// cumulative measurements exactly, which pacbench merge reads.
func NewMeasurements(context.Context, Config) (Sink, error) { return &measurementsSink{}, nil }

// WriteFiles implements FileWriter.
func (s *measurementsSink) WriteFiles(dir *Dir, end *End) error {
	if end.Measurements == nil {
		return nil
	}
	return writeJSON(dir, report.MeasurementsFile, end.Measurements, end.AddNote)
}

// FilesFactory returns the Factory of a sink that writes the given files
// (name → contents) into the run directory, in name order: outputs that
// are ready when the results are written (pacbench merge's interval logs,
// summed from the shards' in place of the streaming log sinks).
func FilesFactory(contents map[string][]byte) Factory {
	return func(context.Context, Config) (Sink, error) { return &staticFiles{contents: contents}, nil }
}

type staticFiles struct {
	files
	contents map[string][]byte
}

// WriteFiles implements FileWriter.
func (s *staticFiles) WriteFiles(dir *Dir, _ *End) error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(s.contents)) {
		if !dirHas(dir, name) {
			errs = append(errs, dir.WriteFile(name, s.contents[name]))
		}
	}
	return errors.Join(errs...)
}

// hgrmSink writes one .hgrm per series.
type hgrmSink struct{ files }

// NewHgrm is the Factory of the .hgrm files (always on).
func NewHgrm(context.Context, Config) (Sink, error) { return &hgrmSink{}, nil }

// WriteFiles implements FileWriter.
func (s *hgrmSink) WriteFiles(dir *Dir, end *End) error {
	var errs []error
	for _, se := range report.HgrmSeriesOf(end.Results) {
		name := s.names.HgrmFile(se.Key)
		if dirHas(dir, name) {
			continue // written before a retry
		}
		b, err := report.Hgrm(se.Hist)
		if err == nil {
			err = dir.WriteFile(name, b)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// linSink writes porcupine's visualizations of non-linearizable phases.
type linSink struct{ files }

// NewLinearizability is the Factory of linearizability/*.html (always on;
// writes nothing when no check failed).
func NewLinearizability(context.Context, Config) (Sink, error) { return &linSink{}, nil }

// WriteFiles implements FileWriter.
func (s *linSink) WriteFiles(dir *Dir, end *End) error {
	var errs []error
	for _, v := range end.Linearizability {
		if len(v.Visualization) == 0 || v.Scenario >= len(s.names.Scenarios) || v.Phase >= len(s.names.Phases) {
			continue
		}
		name := s.names.VisualizationFile(v.Scenario, v.Phase)
		if dirHas(dir, name) {
			continue
		}
		if err := dir.WriteFile(name, v.Visualization); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func dirHas(dir *Dir, name string) bool {
	dir.mu.Lock()
	defer dir.mu.Unlock()
	return dir.files[name]
}
