package shopreport

import (
	"bytes"
	"fmt"
	"html"
	"html/template"
	"image/color"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Chart is one chart of the page: an inline SVG drawn by gonum/plot and
// what the page says about it.
type Chart struct {
	// Name identifies the chart (data-chart); Points is how many data
	// points it plots (data-points), so a browser test can tell an empty
	// chart from a drawn one.
	Name   string
	Title  string
	How    string
	Points int
	SVG    template.HTML
}

// The charts' size in points: the SVG scales to its container; with text
// of 13–15 points it stays legible on a phone (a 400-point chart is about
// 350 px wide there: 13 points render at about 11 px).
const (
	chartW = 400
	chartH = 260
)

var (
	blue   = color.RGBA{R: 37, G: 99, B: 235, A: 255}
	orange = color.RGBA{R: 234, G: 88, B: 12, A: 255}
	green  = color.RGBA{R: 22, G: 163, B: 74, A: 255}
	grey   = color.RGBA{R: 148, G: 163, B: 184, A: 255}
	red    = color.RGBA{R: 220, G: 38, B: 38, A: 255}
	light  = color.RGBA{R: 226, G: 232, B: 240, A: 255}
	// series are the colours of several lines (the cohorts' curves).
	series = []color.Color{blue, orange, green, color.RGBA{R: 147, G: 51, B: 234, A: 255}, red, color.RGBA{R: 8, G: 145, B: 178, A: 255}}
)

// gridLines says which grid lines a plot has.
type gridLines int

const (
	gridBoth       gridLines = iota
	gridHorizontal           // across the Y axis's ticks (vertical bars)
	gridVertical             // across the X axis's ticks (horizontal bars)
)

// newPlot is a plot in the report's style: sans-serif text (Liberation
// Sans, or a font of the same metrics: chartFonts), a light grid, labelled
// axes, the legend at the top left.
func newPlot(xLabel, yLabel string, lines gridLines) *plot.Plot {
	p := plot.New()
	p.X.Label.Text, p.Y.Label.Text = xLabel, yLabel
	for _, s := range []struct {
		style *text.Style
		size  vg.Length
	}{
		{&p.Title.TextStyle, 15}, {&p.X.Label.TextStyle, 14}, {&p.Y.Label.TextStyle, 14},
		{&p.X.Tick.Label, 13}, {&p.Y.Tick.Label, 13}, {&p.Legend.TextStyle, 13},
	} {
		s.style.Font.Typeface, s.style.Font.Variant, s.style.Font.Size = "Liberation", "Sans", s.size
	}
	p.X.LineStyle.Color, p.Y.LineStyle.Color = grey, grey
	p.X.Tick.LineStyle.Color, p.Y.Tick.LineStyle.Color = grey, grey
	g := plotter.NewGrid()
	g.Vertical.Color, g.Horizontal.Color = light, light
	switch lines {
	case gridHorizontal:
		g.Vertical.Color = nil
	case gridVertical:
		g.Horizontal.Color = nil
	}
	p.Add(g)
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs = vg.Points(6)
	p.Legend.Padding = vg.Points(2)
	return p
}

// tickFunc relabels the default ticks with label (minor ticks stay bare).
func tickFunc(label func(float64) string) plot.Ticker {
	return plot.TickerFunc(func(min, max float64) []plot.Tick {
		ts := plot.DefaultTicks{}.Ticks(min, max)
		for i := range ts {
			if ts[i].Label != "" {
				ts[i].Label = label(ts[i].Value)
			}
		}
		return ts
	})
}

// percentTicks label a fraction axis in percent.
func percentTicks() plot.Ticker {
	return tickFunc(func(v float64) string {
		return strings.TrimSuffix(strings.TrimSuffix(FormatNumber(v*100, 1), "0"), ".") + "%"
	})
}

// countTicks label a count axis with thousands separators, whole numbers
// only.
func countTicks() plot.Ticker {
	return plot.TickerFunc(func(min, max float64) []plot.Tick {
		var out []plot.Tick
		for _, t := range (plot.DefaultTicks{}).Ticks(min, max) {
			if t.Label != "" && t.Value == math.Trunc(t.Value) {
				t.Label = FormatInt(int64(t.Value))
				out = append(out, t)
			}
		}
		return out
	})
}

// dateTicks label an axis of day numbers with dates.
func dateTicks(spanDays float64) plot.Ticker {
	layout := "Jan 2"
	if spanDays > 300 {
		layout = "Jan 2006"
	}
	return plot.TickerFunc(func(min, max float64) []plot.Tick {
		var out []plot.Tick
		for _, t := range (plot.DefaultTicks{}).Ticks(min, max) {
			if t.Label != "" && t.Value == math.Trunc(t.Value) {
				t.Label = time.Unix(int64(t.Value)*86400, 0).UTC().Format(layout)
				out = append(out, t)
			}
		}
		return out
	})
}

// render draws p as an inline SVG element.
func render(p *plot.Plot, label string) (template.HTML, error) {
	c := vgsvg.New(chartW, chartH)
	// The last X tick label is centred on the axis's end: leave it room.
	p.Draw(draw.Crop(draw.New(c), 0, -16, 0, -4))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return "", fmt.Errorf("draw %s: %w", label, err)
	}
	s, err := inlineSVG(b.String(), label)
	if err != nil {
		return "", err
	}
	// vgsvg escapes every text it writes; the markup is its own.
	return template.HTML(s), nil
}

// chartFonts are the fonts the charts' text is set in: Liberation Sans,
// whose metrics gonum/plot lays the text out with, or a font with the same
// metrics (Arimo, Arial, Helvetica), or one of nearly the same width.
const chartFonts = "'Liberation Sans',Arimo,Arial,Helvetica,'DejaVu Sans Condensed','Arial Narrow',sans-serif"

var svgRoot = regexp.MustCompile(`^<svg width="[^"]*" height="[^"]*" viewBox="([^"]*)"[^>]*>`)

// inlineSVG makes a standalone SVG document inline: without its XML
// declaration and comment, scaling to its container's width (viewBox
// kept, width 100%, no fixed height), labelled for screen readers, and
// with fallback fonts for machines without Liberation Sans (chartFonts). The root's
// namespace declarations go too: an HTML parser puts <svg> in the SVG
// namespace by itself, and vgsvg links nothing.
func inlineSVG(doc, label string) (string, error) {
	i := strings.Index(doc, "<svg")
	if i < 0 {
		return "", fmt.Errorf("draw %s: no <svg> element", label)
	}
	s := doc[i:]
	if !svgRoot.MatchString(s) {
		return "", fmt.Errorf("draw %s: unexpected <svg> element %.80q", label, s)
	}
	s = svgRoot.ReplaceAllString(s, `<svg viewBox="$1" width="100%" role="img" aria-label="`+strings.ReplaceAll(html.EscapeString(label), "$", "$$")+`">`)
	s = strings.ReplaceAll(s, "font-family:Liberation Sans;", "font-family:"+chartFonts+";")
	return strings.TrimSpace(s), nil
}

func line(xys plotter.XYs, c color.Color, dashed bool) (*plotter.Line, *plotter.Scatter, error) {
	l, s, err := plotter.NewLinePoints(xys)
	if err != nil {
		return nil, nil, err
	}
	l.Color, l.Width = c, vg.Points(1.6)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	}
	s.Color, s.Radius, s.Shape = c, vg.Points(1.8), draw.CircleGlyph{}
	if len(xys) > 40 {
		s.Radius = 0 // a long series reads better as a line alone
	}
	return l, s, nil
}

func bars(vs plotter.Values, width vg.Length, c color.Color) (*plotter.BarChart, error) {
	b, err := plotter.NewBarChart(vs, width)
	if err != nil {
		return nil, err
	}
	b.Color, b.LineStyle.Width = c, 0
	return b, nil
}

// barWidth fits groups of k bars into n slots of the data area.
func barWidth(n, k int) vg.Length {
	w := vg.Length(300) / vg.Length(max(n, 1)*k+max(n, 1))
	return max(min(w, 28), 3)
}

// charts draws every chart the report has data for, in page order,
// keyed by section.
func charts(r *Report) (map[string][]Chart, error) {
	out := map[string][]Chart{}
	type maker struct {
		section string
		draw    func(*Report) (*Chart, error)
	}
	for _, m := range []maker{
		{"trends", historyChart},
		{"customers", segmentsChart}, {"customers", churnRiskChart}, {"customers", clvChart},
		{"retention", cohortChart}, {"retention", repeatCurveChart},
		{"model", fitCumulativeChart}, {"model", fitIncrementalChart},
		{"campaigns", campaignConversionChart}, {"campaigns", campaignUpliftChart}, {"campaigns", campaignMoneyChart},
	} {
		c, err := m.draw(r)
		if err != nil {
			return nil, err
		}
		if c != nil {
			out[m.section] = append(out[m.section], *c)
		}
	}
	return out, nil
}

// finish renders p into c.
func finish(c *Chart, p *plot.Plot) (*Chart, error) {
	svg, err := render(p, c.Title)
	if err != nil {
		return nil, err
	}
	c.SVG = svg
	return c, nil
}

func historyChart(r *Report) (*Chart, error) {
	if len(r.History) == 0 {
		return nil, nil
	}
	churn := make(plotter.XYs, len(r.History))
	repeat := make(plotter.XYs, len(r.History))
	for i, d := range r.History {
		n, err := dayOf(d.AsOf)
		if err != nil {
			return nil, err
		}
		churn[i] = plotter.XY{X: float64(n), Y: finite(d.ChurnRate)}
		repeat[i] = plotter.XY{X: float64(n), Y: finite(d.RepeatPurchaseRate)}
	}
	p := newPlot("scored day", "share of customers", gridBoth)
	p.Y.Tick.Marker = percentTicks()
	span := churn[len(churn)-1].X - churn[0].X
	p.X.Tick.Marker = dateTicks(span)
	if span == 0 {
		p.X.Min, p.X.Max = churn[0].X-3, churn[0].X+3
	}
	p.Y.Min, p.Y.Max = 0, 1
	for _, s := range []struct {
		name string
		xys  plotter.XYs
		c    color.Color
	}{{"churn rate", churn, red}, {"repeat purchase rate", repeat, blue}} {
		l, pts, err := line(s.xys, s.c, false)
		if err != nil {
			return nil, err
		}
		if len(s.xys) == 1 {
			pts.Radius = vg.Points(3)
		}
		p.Add(l, pts)
		p.Legend.Add(s.name, l, pts)
	}
	p.Legend.Top, p.Legend.Left = false, true
	p.Legend.YOffs = vg.Points(18)
	return finish(&Chart{Name: "kpi_history", Title: "Churn rate and repeat purchase rate, per scored day",
		How:    "Churn rate is the expected share of customers who have stopped buying (lower is better); repeat purchase rate is the share who bought on two or more days (higher is better).",
		Points: 2 * len(r.History)}, p)
}

func segmentsChart(r *Report) (*Chart, error) {
	var total int64
	for _, s := range r.Segments {
		total += s.Customers
	}
	if total == 0 {
		return nil, nil
	}
	n := len(r.Segments)
	vs := make(plotter.Values, n)
	names := make([]string, n)
	for i, s := range r.Segments { // the first segment at the top
		vs[n-1-i] = float64(s.Customers)
		names[n-1-i] = segmentLabel(s.Name)
	}
	p := newPlot("customers", "", gridVertical)
	b, err := bars(vs, vg.Points(13), blue)
	if err != nil {
		return nil, err
	}
	b.Horizontal = true
	p.Add(b)
	p.NominalY(names...)
	p.Y.Tick.Length = vg.Points(5) // a gap between the names and the bars (NominalY hides the ticks)
	p.X.Tick.Marker = countTicks()
	p.X.Min = 0
	return finish(&Chart{Name: "segments", Title: "Customers per RFM segment",
		How:    "Segments group customers by how recently, how often and how much they bought (Shopify's RFM groups); at risk and previously loyal customers are the ones worth winning back.",
		Points: n}, p)
}

func churnRiskChart(r *Report) (*Chart, error) {
	var hs []plotter.HistogramBin
	var total int64
	for _, b := range r.ChurnRiskDistribution {
		hs = append(hs, plotter.HistogramBin{Min: b.Lo, Max: b.Hi, Weight: float64(b.Count)})
		total += b.Count
	}
	if total == 0 {
		return nil, nil
	}
	p := newPlot("churn risk (1 − P(alive))", "customers", gridHorizontal)
	h := &plotter.Histogram{Bins: hs, Width: 0.05, FillColor: orange}
	h.LineStyle.Width = vg.Points(0.5)
	h.LineStyle.Color = color.White
	p.Add(h)
	p.X.Min, p.X.Max = 0, 1
	p.X.Tick.Marker = percentTicks()
	p.Y.Tick.Marker = countTicks()
	return finish(&Chart{Name: "churn_risk_distribution", Title: "Customers by churn risk",
		How:    "Each bar counts the customers whose chance of having stopped buying falls in a 5% band; a heap on the right means many customers have probably lapsed. One-time buyers sit in the first bar: with a single purchase the models see no sign yet that they have stopped (BG/NBD gives them P(alive) = 1), so read that bar as \"not judged yet\" as much as \"safe\".",
		Points: len(hs)}, p)
}

// clvEdges are the CLV chart's bin edges in currency units: 0, then 1, 2,
// 5 per decade.
func clvEdges(maxUnits float64) []float64 {
	edges := []float64{0}
	for e := 1.0; ; e *= 10 {
		for _, m := range []float64{1, 2, 5} {
			edges = append(edges, e*m)
			if e*m > maxUnits {
				return edges
			}
		}
	}
}

func clvChart(r *Report) (*Chart, error) {
	unit := math.Pow10(r.Shop.CurrencyExponent)
	var maxUnits float64
	var total int64
	for _, b := range r.CLVDistribution {
		if b.Count > 0 {
			maxUnits = max(maxUnits, b.Hi/unit)
			total += b.Count
		}
	}
	if total == 0 {
		return nil, nil
	}
	edges := clvEdges(maxUnits)
	counts := make([]float64, len(edges)-1)
	for _, b := range r.CLVDistribution {
		// A 4.7% bin goes where its geometric middle falls.
		mid := math.Sqrt(max(b.Lo, 0)*b.Hi) / unit
		for i := len(edges) - 2; i >= 0; i-- {
			if mid >= edges[i] || i == 0 {
				counts[i] += float64(b.Count)
				break
			}
		}
	}
	lo, hi := 0, len(counts)-1
	for lo < hi && counts[lo] == 0 {
		lo++
	}
	for hi > lo && counts[hi] == 0 {
		hi--
	}
	cur := r.Shop.Currency
	var names []string
	for i := lo; i <= hi; i++ {
		names = append(names, FormatMoneyShort(edges[i], cur)+"–"+compact(edges[i+1]))
	}
	p := newPlot("predicted CLV, next 12 months", "customers", gridHorizontal)
	b, err := bars(plotter.Values(counts[lo:hi+1]), barWidth(len(names), 1), green)
	if err != nil {
		return nil, err
	}
	p.Add(b)
	p.NominalX(names...)
	p.Y.Tick.Marker = countTicks()
	rotateX(p, len(names) > 5)
	return finish(&Chart{Name: "clv_distribution", Title: "Customers by predicted customer lifetime value",
		How:    "Each bar counts the customers whose expected spend over the next 12 months (discounted) falls in the range below it; the ranges grow 1-2-5 per decade.",
		Points: len(names)}, p)
}

// headroom is the top of a bar chart's Y axis: room above the highest bar
// for the legend.
func headroom(top float64) float64 {
	if top <= 0 {
		return 1
	}
	return top * 1.35
}

// rotateX slants the X tick labels when there are many.
func rotateX(p *plot.Plot, on bool) {
	if on {
		p.X.Tick.Label.Rotation = math.Pi / 5
		p.X.Tick.Label.XAlign = draw.XRight
		p.X.Tick.Label.YAlign = draw.YCenter
	}
}

// cohortLines is how many of the latest cohorts the cohort chart draws.
const cohortLines = 6

func cohortChart(r *Report) (*Chart, error) {
	var shown []Cohort
	for _, c := range r.Cohorts.Cohorts {
		if len(c.Retention) > 1 {
			shown = append(shown, c)
		}
	}
	if len(shown) == 0 {
		return nil, nil
	}
	shown = shown[max(0, len(shown)-cohortLines):]
	p := newPlot("months after the first purchase", "share who bought that month", gridBoth)
	p.Y.Tick.Marker = percentTicks()
	p.Y.Min = 0
	p.X.Tick.Marker = countTicks()
	points := 0
	for i, c := range shown {
		xys := make(plotter.XYs, 0, len(c.Retention)-1)
		for k, v := range c.Retention[1:] {
			xys = append(xys, plotter.XY{X: float64(k + 1), Y: v})
		}
		l, s, err := line(xys, series[i%len(series)], false)
		if err != nil {
			return nil, err
		}
		p.Add(l, s)
		p.Legend.Add(c.Month, l)
		points += len(xys)
	}
	p.Legend.Left = false
	return finish(&Chart{Name: "cohort_retention", Title: fmt.Sprintf("Retention of the latest %d monthly cohorts", len(shown)),
		How:    "Each line is the customers who first bought in one month: the share of them who bought again 1, 2, 3… months later. Higher, flatter lines mean customers keep coming back.",
		Points: points}, p)
}

func repeatCurveChart(r *Report) (*Chart, error) {
	if len(r.RepeatPurchaseCurve) == 0 {
		return nil, nil
	}
	xys := make(plotter.XYs, len(r.RepeatPurchaseCurve))
	for i, pt := range r.RepeatPurchaseCurve {
		xys[i] = plotter.XY{X: float64(pt.Days), Y: pt.Share}
	}
	p := newPlot("days after the first purchase", "share with a second purchase", gridBoth)
	p.Y.Tick.Marker = percentTicks()
	p.Y.Min = 0
	p.X.Min = 0
	p.X.Tick.Marker = countTicks()
	l, s, err := line(xys, blue, false)
	if err != nil {
		return nil, err
	}
	l.FillColor = color.NRGBA{R: 37, G: 99, B: 235, A: 40}
	p.Add(l, s)
	return finish(&Chart{Name: "repeat_purchase_curve", Title: "Second purchase within d days of the first",
		How:    "Of the customers old enough to tell, the share who came back for a second purchase within d days; the steepest part shows when a reminder is most useful.",
		Points: len(xys)}, p)
}

// fitSeries are the model fit's actual and predicted series per period,
// cumulative or not, at each period's last day.
func fitSeries(f ModelFit, cumulative bool) (actual, predicted plotter.XYs, err error) {
	for _, pd := range f.Periods {
		end, err := dayOf(pd.End)
		if err != nil {
			return nil, nil, err
		}
		a, pr := float64(pd.Actual), pd.Predicted
		if cumulative {
			a, pr = float64(pd.CumulativeActual), pd.CumulativePredicted
		}
		actual = append(actual, plotter.XY{X: float64(end), Y: a})
		predicted = append(predicted, plotter.XY{X: float64(end), Y: finite(pr)})
	}
	return actual, predicted, nil
}

func fitChart(r *Report, cumulative bool) (*Chart, error) {
	f := r.ModelFit
	if len(f.Periods) == 0 {
		return nil, nil
	}
	if !cumulative && len(f.Periods) > 1 && partialPeriod(f.Period, f.Periods[len(f.Periods)-1]) {
		// A cut last period would plunge both lines: per period, only
		// whole ones are drawn (report.json keeps it).
		f.Periods = f.Periods[:len(f.Periods)-1]
	}
	actual, predicted, err := fitSeries(f, cumulative)
	if err != nil {
		return nil, err
	}
	y := "repeat purchases per " + f.Period
	if cumulative {
		y = "repeat purchases to date"
	}
	p := newPlot("", y, gridBoth)
	span := actual[len(actual)-1].X - actual[0].X
	p.X.Tick.Marker = dateTicks(span)
	if span == 0 {
		p.X.Min, p.X.Max = actual[0].X-3, actual[0].X+3
	}
	p.Y.Min = 0
	p.Y.Tick.Marker = countTicks()
	la, sa, err := line(actual, ink(), false)
	if err != nil {
		return nil, err
	}
	lp, sp, err := line(predicted, orange, true)
	if err != nil {
		return nil, err
	}
	p.Add(la, sa, lp, sp)
	p.Legend.Add("actual", la)
	p.Legend.Add(modelLabel(f.Model)+" predicted", lp)
	c := &Chart{Points: len(actual) + len(predicted)}
	if cumulative {
		c.Name, c.Title = "model_fit_cumulative", "Repeat purchases to date: actual vs "+modelLabel(f.Model)
		c.How = "The model's expected repeat purchases of every customer since their first purchase, added up, against the purchases that happened. Lines that stay together mean the model describes the shop well (it was fitted on this history)."
	} else {
		c.Name, c.Title = "model_fit_incremental", "Repeat purchases per "+f.Period+": actual vs "+modelLabel(f.Model)
		c.How = "The same per " + f.Period + ": the model should follow the trend, not each bump. Only whole " + f.Period + "s are drawn."
	}
	return finish(c, p)
}

// partialPeriod reports whether a model-fit period was cut short by the
// as-of day: a week of fewer than 7 days, a month that does not end on
// its last day.
func partialPeriod(period string, fp FitPeriod) bool {
	start, err1 := time.Parse(time.DateOnly, fp.Start)
	end, err2 := time.Parse(time.DateOnly, fp.End)
	if err1 != nil || err2 != nil {
		return false
	}
	if period == "month" {
		return end.AddDate(0, 0, 1).Day() != 1
	}
	return end.Sub(start) < 6*24*time.Hour
}

func fitCumulativeChart(r *Report) (*Chart, error)  { return fitChart(r, true) }
func fitIncrementalChart(r *Report) (*Chart, error) { return fitChart(r, false) }

func ink() color.Color { return color.RGBA{R: 30, G: 41, B: 59, A: 255} }

// measured are the campaigns with a measurement of a mailed group, oldest
// first, at most the latest 12.
func measured(r *Report) []CampaignResult {
	var out []CampaignResult
	for i := len(r.Campaigns) - 1; i >= 0; i-- {
		if c := r.Campaigns[i]; c.Report != nil && c.Report.MailedGroup.Customers > 0 {
			out = append(out, c)
		}
	}
	return out[max(0, len(out)-12):]
}

func campaignConversionChart(r *Report) (*Chart, error) {
	cs := measured(r)
	if len(cs) == 0 {
		return nil, nil
	}
	mailed := make(plotter.Values, len(cs))
	holdout := make(plotter.Values, len(cs))
	names := make([]string, len(cs))
	for i, c := range cs {
		mailed[i] = finite(c.Report.MailedGroup.ConversionRate)
		holdout[i] = finite(c.Report.HoldoutGroup.ConversionRate)
		names[i] = c.CampaignID
	}
	w := barWidth(len(cs), 2)
	p := newPlot("campaign", "converted within the window", gridHorizontal)
	bm, err := bars(mailed, w, blue)
	if err != nil {
		return nil, err
	}
	bh, err := bars(holdout, w, grey)
	if err != nil {
		return nil, err
	}
	bm.Offset, bh.Offset = -w/2, w/2
	p.Add(bm, bh)
	p.Legend.Add("mailed", bm)
	p.Legend.Add("holdout (not mailed)", bh)
	p.NominalX(names...)
	rotateX(p, len(cs) > 4)
	p.Y.Min, p.Y.Max = 0, headroom(slices.Max(slices.Concat(mailed, holdout)))
	p.Y.Tick.Marker = percentTicks()
	return finish(&Chart{Name: "campaign_conversion", Title: "Conversion: mailed vs holdout",
		How:    "The share of each group that ordered within the attribution window. The holdout was picked at random and not mailed, so the gap between the bars estimates what the e-mail did; with a small holdout the estimate is rough: see the interval beside.",
		Points: 2 * len(cs)}, p)
}

func campaignUpliftChart(r *Report) (*Chart, error) {
	var xys plotter.XYs
	var errs plotter.YErrors
	var names []string
	for _, c := range measured(r) {
		u := c.Report.Uplift
		if !u.Defined {
			continue
		}
		x := float64(len(names))
		xys = append(xys, plotter.XY{X: x, Y: u.Estimate})
		errs = append(errs, struct{ Low, High float64 }{u.Estimate - u.Lower, u.Upper - u.Estimate})
		names = append(names, c.CampaignID)
	}
	if len(names) == 0 {
		return nil, nil
	}
	p := newPlot("campaign", "uplift (mailed − holdout)", gridHorizontal)
	zero, err := plotter.NewLine(plotter.XYs{{X: -0.5, Y: 0}, {X: float64(len(names)) - 0.5, Y: 0}})
	if err != nil {
		return nil, err
	}
	zero.Color, zero.Width = grey, vg.Points(1)
	eb, err := plotter.NewYErrorBars(struct {
		plotter.XYs
		plotter.YErrors
	}{xys, errs})
	if err != nil {
		return nil, err
	}
	eb.Color, eb.Width, eb.CapWidth = blue, vg.Points(1.5), vg.Points(10)
	pts, err := plotter.NewScatter(xys)
	if err != nil {
		return nil, err
	}
	pts.Color, pts.Radius, pts.Shape = blue, vg.Points(3.5), draw.CircleGlyph{}
	p.Add(zero, eb, pts)
	p.NominalX(names...)
	rotateX(p, len(names) > 4)
	p.X.Min, p.X.Max = -0.5, float64(len(names))-0.5
	p.Y.Tick.Marker = tickFunc(func(v float64) string {
		return strings.TrimSuffix(strings.TrimSuffix(FormatNumber(v*100, 1), "0"), ".") + " pp"
	})
	return finish(&Chart{Name: "campaign_uplift", Title: "Uplift with its 95% interval",
		How:    "The dot is the mailed group's conversion rate minus the holdout's, in percentage points; the bar is its 95% interval (Newcombe). An interval wholly above the grey zero line means the e-mail measurably helped; one that crosses it means this campaign cannot tell its effect from chance yet (a larger holdout, or more campaigns, narrow it).",
		Points: len(names)}, p)
}

func campaignMoneyChart(r *Report) (*Chart, error) {
	cs := measured(r)
	if len(cs) == 0 {
		return nil, nil
	}
	unit := math.Pow10(r.Shop.CurrencyExponent)
	rev := make(plotter.Values, len(cs))
	inc := make(plotter.Values, len(cs))
	cost := make(plotter.Values, len(cs))
	names := make([]string, len(cs))
	for i, c := range cs {
		rev[i] = float64(c.Report.MailedGroup.Revenue) / unit
		inc[i] = float64(c.Report.IncrementalRevenue) / unit
		cost[i] = float64(c.Report.DiscountCost) / unit
		names[i] = c.CampaignID
	}
	w := barWidth(len(cs), 3)
	p := newPlot("campaign", "", gridHorizontal)
	for i, s := range []struct {
		name string
		vs   plotter.Values
		c    color.Color
	}{{"revenue of the mailed", rev, blue}, {"incremental revenue", inc, green}, {"discount cost", cost, orange}} {
		b, err := bars(s.vs, w, s.c)
		if err != nil {
			return nil, err
		}
		b.Offset = vg.Length(i-1) * w
		p.Add(b)
		p.Legend.Add(s.name, b)
	}
	p.NominalX(names...)
	rotateX(p, len(cs) > 4)
	cur := r.Shop.Currency
	p.Y.Min, p.Y.Max = min(0, slices.Min(inc)), headroom(slices.Max(slices.Concat(rev, inc, cost)))
	p.Y.Tick.Marker = tickFunc(func(v float64) string { return FormatMoneyShort(v, cur) })
	return finish(&Chart{Name: "campaign_money", Title: "Revenue, incremental revenue and discount cost",
		How:    "Revenue of the mailed group's attributed orders; incremental revenue is what they spent beyond the holdout's rate per customer (an estimate as uncertain as the uplift beside: when its interval crosses zero, so may this); discount cost is what the redeemed coupons took off.",
		Points: 3 * len(cs)}, p)
}

// segmentLabel is a segment's name for people ("needs_attention" →
// "Needs attention").
func segmentLabel(s string) string {
	s = strings.ReplaceAll(s, "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// modelLabel is a model's name as the papers write it.
func modelLabel(name string) string {
	switch name {
	case "bgnbd":
		return "BG/NBD"
	case "mbgnbd":
		return "MBG/NBD"
	case "paretonbd":
		return "Pareto/NBD"
	case "empirical":
		return "empirical"
	}
	return name
}
