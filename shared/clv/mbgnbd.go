package clv

// MBGNBD is a fitted MBG/NBD model (Batislam, Denizel & Filiztekin 2007;
// Hoppe & Wagner 2007): BG/NBD in which a customer may also drop out right
// after the first purchase, so that customers without repeat purchases are
// not all assumed alive. Same parameters as BGNBD.
type MBGNBD struct{ R, Alpha, A, B float64 }

var _ TransactionModel = MBGNBD{}

// FitMBGNBD fits MBG/NBD by maximum likelihood.
func FitMBGNBD(d Data, opts FitOptions) (MBGNBD, FitResult) {
	par, res := fitBetaGeo(d, opts, true)
	if par == nil {
		return MBGNBD{}, res
	}
	return MBGNBD{R: par[0], Alpha: par[1], A: par[2], B: par[3]}, res
}

// LogLikelihood is the model's log-likelihood of the data.
func (m MBGNBD) LogLikelihood(d Data) float64 {
	return betaGeoLogLik(prepare(d), true, m.params(), nil, nil)
}

func (m MBGNBD) params() []float64 { return []float64{m.R, m.Alpha, m.A, m.B} }

// PAlive is 1 / (1 + a/(b+x) · ((α+T)/(α+tx))^(r+x)).
func (m MBGNBD) PAlive(x, tx, T float64) float64 {
	return betaGeoPAlive(m.R, m.Alpha, m.A, m.B, true, x, tx, T)
}

// ConditionalExpected is the expected number of purchases in (T, T+t] for a
// customer with history (x, tx, T).
func (m MBGNBD) ConditionalExpected(t, x, tx, T float64) float64 {
	x, tx, T = clampHistory(x, tx, T)
	return m.PAlive(x, tx, T) * aliveSeries(t, m.R+x, m.Alpha+T, m.A, m.B+x+1)
}

// Expected is E[X(t)] for a customer who made their first purchase at
// time 0: b/(a+b) (alive after it) times the BG/NBD-type series.
func (m MBGNBD) Expected(t float64) float64 {
	return m.B / (m.A + m.B) * aliveSeries(t, m.R, m.Alpha, m.A, m.B+1)
}
