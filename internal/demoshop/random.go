package demoshop

import (
	"math"
	"math/rand/v2"
)

// Random streams: every customer draws from its own stream, so a
// customer's history does not depend on how many others there are or on
// the order in which they are simulated.
const (
	streamCustomer  = 1 << 32 // | customer index
	streamForward   = 2 << 32 // | customer index
	streamChannel   = 3
	streamMalformed = 4
	// PlayForward's new customers: how many, their channels, and each
	// one's own stream (| index among them).
	streamNewCount    = 5
	streamNewChannel  = 6
	streamNewCustomer = 7 << 32
)

// newRand returns the random stream of a seed.
func newRand(seed int64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), stream))
}

// gammaDraw draws from Gamma(shape, 1) (Marsaglia & Tsang 2000).
func gammaDraw(rng *rand.Rand, shape float64) float64 {
	if shape < 1 {
		// Gamma(k) = Gamma(k+1) · U^(1/k).
		return gammaDraw(rng, shape+1) * math.Pow(rng.Float64(), 1/shape)
	}
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		if u < 1-0.0331*x*x*x*x || math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}

// betaDraw draws from Beta(a, b).
func betaDraw(rng *rand.Rand, a, b float64) float64 {
	x := gammaDraw(rng, a)
	return x / (x + gammaDraw(rng, b))
}

// pick returns an index drawn with probability proportional to weights
// (-1 when they are all zero).
func pick(rng *rand.Rand, weights []float64) int {
	var sum float64
	for _, w := range weights {
		sum += w
	}
	if sum <= 0 {
		return -1
	}
	u := rng.Float64() * sum
	for i, w := range weights {
		if u < w {
			return i
		}
		u -= w
	}
	for i := len(weights) - 1; i >= 0; i-- {
		if weights[i] > 0 {
			return i
		}
	}
	return -1
}

// uniformDuration draws a duration uniformly from [lo, hi).
func uniformDuration(rng *rand.Rand, lo, hi float64) float64 {
	return lo + (hi-lo)*rng.Float64()
}
