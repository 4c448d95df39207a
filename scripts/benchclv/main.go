// Command benchclv times the CLV models on the CDNOW sample and on simulated
// customer bases and compares the figures with the bars set by lifetimes
// (Python) on the same kind of machine. Run it through scripts/bench-clv.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/winback/winback/shared/clv"
)

// Bars measured for lifetimes on this machine kind (seconds; customers/s).
var fitBars = map[string]map[string]float64{
	"bgnbd":     {"cdnow": 0.055, "sim23570": 0.2, "sim1M": 9.4},
	"paretonbd": {"sim23570": 3.0},
}

const scoreBar = 2.9e6

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchclv:", err)
		os.Exit(1)
	}
}

type dataset struct {
	name string
	cs   []clv.Customer
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("benchclv", flag.ContinueOnError)
	cdnowPath := fs.String("cdnow", "testdata/cdnow/cdnow_sample_tx.csv", "CDNOW transaction CSV")
	quick := fs.Bool("quick", false, "skip the 1,000,000-customer dataset")
	runs := fs.Int("runs", 5, "timed runs per measurement (the median is reported)")
	skip := fs.String("skip", "", "comma-separated models to skip, e.g. paretonbd,mbgnbd")
	if err := fs.Parse(args); err != nil {
		return err
	}
	f, err := os.Open(*cdnowPath)
	if err != nil {
		return err
	}
	txs, err := clv.ReadTransactions(f)
	f.Close()
	if err != nil {
		return err
	}
	cal, _ := clv.ParseDate("1997-09-30")
	s, err := clv.Summarize(txs, clv.Period{CalibrationEnd: cal, ObservationEnd: cal, Unit: clv.Week})
	if err != nil {
		return err
	}
	sets := []dataset{{"cdnow", clv.Customers(s)}}
	// CDNOW-like BG/NBD customers (FHL 2005 parameters, in weeks): a cohort
	// acquired over 12 weeks, observed to week 39, at day resolution, with
	// Gamma-Gamma spend.
	sim := func(n int) []clv.Customer {
		cs, _ := clv.SimulateBGNBD(clv.BGNBD{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426},
			clv.SimOptions{N: n, TMin: 27, TMax: 39, Resolution: 1.0 / 7, Seed: uint64(n)})
		clv.SimulateSpend(clv.GammaGamma{P: 6.25, Q: 3.74, Gamma: 15.44}, cs, uint64(n)+1)
		return cs
	}
	rep := make([]clv.Customer, 0, 10*len(sets[0].cs))
	for i := 0; i < 10; i++ {
		rep = append(rep, sets[0].cs...)
	}
	sets = append(sets, dataset{"cdnow×10", rep}, dataset{"sim23570", sim(23570)})
	if !*quick {
		sets = append(sets, dataset{"sim1M", sim(1_000_000)})
	}

	fmt.Fprintf(out, "CLV benchmarks: %s/%s, GOMAXPROCS=%d, %s, median of %d runs\n\n",
		runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), runtime.Version(), *runs)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "dataset\tcustomers\ttriples\tmodel\tfit s\tlifetimes s\tspeed-up\tLL\tconverged\t")
	type fitted struct {
		name string
		m    clv.TransactionModel
	}
	models := map[string][]fitted{}
	for _, d := range sets {
		triples := len(clv.Group(d.cs).Triples)
		for _, name := range []string{"bgnbd", "mbgnbd", "paretonbd", "gammagamma"} {
			if slices.Contains(strings.Split(*skip, ","), name) {
				continue
			}
			var res clv.FitResult
			var m clv.TransactionModel
			n := *runs
			if len(d.cs) > 100_000 {
				n = max(1, min(n, 3))
			}
			secs := median(n, func() {
				start := time.Now()
				switch name {
				case "bgnbd":
					m, res = clv.FitBGNBD(clv.Group(d.cs), clv.FitOptions{})
				case "mbgnbd":
					m, res = clv.FitMBGNBD(clv.Group(d.cs), clv.FitOptions{})
				case "paretonbd":
					m, res = clv.FitParetoNBD(clv.Group(d.cs), clv.FitOptions{})
				case "gammagamma":
					_, res = clv.FitGammaGamma(d.cs, clv.FitOptions{})
				}
				res.Seconds = time.Since(start).Seconds()
			})
			if m != nil {
				models[d.name] = append(models[d.name], fitted{name, m})
			}
			bar, speed := "", ""
			if b, ok := fitBars[name][d.name]; ok {
				bar = fmt.Sprintf("%.3f", b)
				speed = fmt.Sprintf("%.0f×", b/secs)
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%.4f\t%s\t%s\t%.1f\t%v\t\n",
				d.name, len(d.cs), triples, name, secs, bar, speed, res.LogLik, res.Converged)
		}
	}
	tw.Flush()

	fmt.Fprintf(out, "\nScoring: P(alive) + conditional expected purchases (39 weeks) per customer; lifetimes bar %.1f M customers/s\n\n", scoreBar/1e6)
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "dataset\tmodel\tmethod\tworkers\tM customers/s\tvs lifetimes\t")
	for _, d := range sets {
		for _, fm := range models[d.name] {
			for _, direct := range []bool{false, true} {
				if direct && fm.name == "paretonbd" && len(d.cs) > 100_000 {
					continue // slow and says nothing new
				}
				method := "Predict"
				if direct {
					method = "per customer"
				}
				for _, workers := range []int{1, runtime.GOMAXPROCS(0)} {
					secs := median(*runs, func() {
						if direct {
							predictDirect(fm.m, d.cs, 39, workers)
						} else {
							clv.Predict(fm.m, d.cs, 39, workers)
						}
					})
					rate := float64(len(d.cs)) / secs
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.2f\t%.1f×\t\n", d.name, fm.name, method, workers, rate/1e6, rate/scoreBar)
				}
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(out, "\nPredict computes each distinct (x, t_x, T) once per worker; \"per customer\" calls PAlive and")
	fmt.Fprintln(out, "ConditionalExpected for every customer, as a vectorised library does.")
	return nil
}

// predictDirect evaluates every customer without grouping, in contiguous
// chunks on workers goroutines.
func predictDirect(m clv.TransactionModel, cs []clv.Customer, t float64, workers int) []clv.Prediction {
	out := make([]clv.Prediction, len(cs))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := len(cs)*w/workers, len(cs)*(w+1)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				c := &cs[i]
				out[i] = clv.Prediction{PAlive: m.PAlive(c.X, c.Tx, c.T), Expected: m.ConditionalExpected(t, c.X, c.Tx, c.T)}
			}
		}()
	}
	wg.Wait()
	return out
}

// median runs f n times and returns the median wall time in seconds.
func median(n int, f func()) float64 {
	ts := make([]float64, n)
	for i := range ts {
		start := time.Now()
		f()
		ts[i] = time.Since(start).Seconds()
	}
	slices.Sort(ts)
	return ts[n/2]
}
