# Reference vectors for services/signal/boundary_test.cc: the repeated-look
# stopping boundaries of the R package stoppingrule (Martens, Lian & Logan;
# calc.rule.bin types "Pocock", "OBF", "WT", "BB"), calibrated exactly, in
# base R written from the definitions (stoppingrule itself is not needed).
#
#   cd services/signal/testdata && Rscript boundary_reference.R
#
# prints the C++ initialisers pasted into boundary_test.cc (References()).
#
# The computation is deliberately different from the C++ one:
#   - the law of the running count is convolved look to look with dbinom
#     (as stoppingrule's opchars.bin does), not stepped subject by subject;
#   - calibration enumerates EVERY jump point of the family (the statistic
#     at every count of every look), sorts them and bisects on the index
#     for the first boundary with error <= alpha; the C++ bisects the
#     parameter and enumerates only the few jump points left.
# A family: statistic E(n, x), nondecreasing in x; the boundary at theta
# stops at look n for the x with E(n, x) >= theta:
#   Pocock: E = -P(Bin(n, p0) >= x)           (stop when the tail <= c)
#   OBF:    E = (x - n p0) / sqrt(N p0 q0)    (stop when z >= C)
#   WT:     E = (x - n p0) / (sqrt(n p0 q0) (n/N)^(delta - 1/2)), computed
#           as (x - n p0) / (sqrt(N p0 q0) (n/N)^delta), as the C++ does
#   BB:     E = P(p > p0 | x, n), Beta(a, b) prior (stop when posterior > tau)

looks_of <- function(N, cohort) {
  m <- seq(cohort, N, by = cohort)
  c(m[m < N], N)
}

statistic <- function(s, n, x) {
  q0 <- 1 - s$p0
  switch(s$type,
    pocock = -pbinom(x - 1, n, s$p0, lower.tail = FALSE),
    obf = (x - n * s$p0) / sqrt(s$N * s$p0 * q0),
    wt = (x - n * s$p0) / (sqrt(s$N * s$p0 * q0) * (n / s$N)^s$delta),
    bayes = pbeta(s$p0, s$a + x, s$b + n - x, lower.tail = FALSE))
}

# b(n) at theta for every look (n + 1 where no count stops).
boundary_at <- function(s, ns, theta) {
  sapply(ns, function(n) {
    hit <- which(statistic(s, n, 0:n) >= theta)
    if (length(hit)) hit[1] - 1 else n + 1
  })
}

# The exact law of stopping: P(first stop at each look), E[n], E[events].
oc <- function(ns, bs, p) {
  alive <- 1  # P(count = 0..n, not stopped)
  prev <- 0
  cross <- numeric(length(ns))
  events <- 0
  for (k in seq_along(ns)) {
    m <- ns[k] - prev
    step <- dbinom(0:m, m, p)
    nxt <- numeric(ns[k] + 1)
    for (i in seq_along(alive)) {
      idx <- i - 1 + 0:m + 1
      nxt[idx] <- nxt[idx] + alive[i] * step
    }
    x <- 0:ns[k]
    stop <- x >= bs[k]
    cross[k] <- sum(nxt[stop])
    events <- events + sum(x[stop] * nxt[stop])
    nxt[stop] <- 0
    alive <- nxt
    prev <- ns[k]
  }
  N <- tail(ns, 1)
  list(cross = cross, power = sum(cross),
       size = sum(ns * cross) + N * sum(alive),
       events = events + sum((0:N) * alive))
}

calibrate <- function(s) {
  ns <- looks_of(s$N, s$cohort)
  jumps <- sort(unique(unlist(lapply(ns, function(n) {
    statistic(s, n, 0:n)
  }))))
  jumps <- c(jumps, Inf)  # Inf: the boundary that never stops
  err <- function(i) oc(ns, boundary_at(s, ns, jumps[i]), s$p0)$power
  lo <- 0  # stands for "stop at every count": error 1
  hi <- length(jumps)
  stopifnot(err(hi) <= s$alpha)
  while (hi - lo > 1) {
    mid <- (lo + hi) %/% 2
    if (err(mid) <= s$alpha) hi <- mid else lo <- mid
  }
  b <- boundary_at(s, ns, jumps[hi])
  nb <- boundary_at(s, ns, jumps[lo])
  stops <- b <= ns
  e_hi <- min(mapply(function(n, bb) statistic(s, n, bb), ns[stops], b[stops]))
  e_lo <- max(mapply(function(n, bb) statistic(s, n, bb - 1), ns, b))
  stopifnot(e_hi == jumps[hi], e_lo == jumps[lo])
  par <- switch(s$type, pocock = c(-e_hi, -e_lo), bayes = c(e_lo, e_hi),
                c(e_hi, e_lo))
  null <- oc(ns, b, s$p0)
  alt <- oc(ns, b, s$p1)
  list(ns = ns, b = b, error = null$power, next_error = oc(ns, nb, s$p0)$power,
       parameter = par[1], limit = par[2], size = null$size,
       events = null$events, power = alt$power, size1 = alt$size,
       cum = cumsum(null$cross))
}

spec <- function(type, p0, N, alpha, p1, cohort = 1, delta = 0.25, a = 1,
                 b = 1) {
  list(type = type, p0 = p0, N = N, alpha = alpha, p1 = p1, cohort = cohort,
       delta = delta, a = a, b = b)
}

cases <- list(
  spec("pocock", 0.2, 30, 0.1, 0.4),            # the brief's example
  spec("pocock", 0.2, 50, 0.1, 0.3),            # stoppingrule README (0.5)
  spec("bayes", 0.2, 30, 0.1, 0.4, a = 0.6, b = 2.4),  # README (0.6)
  spec("bayes", 0.1, 100, 0.05, 0.25, a = 1, b = 9),   # calc.rule.bin.Rd
  spec("obf", 0.2, 50, 0.1, 0.35),
  spec("wt", 0.2, 50, 0.1, 0.35, delta = 0.25),        # calc.rule.bin.Rd
  spec("wt", 0.3, 40, 0.05, 0.5, delta = 0.5),
  spec("pocock", 0.15, 40, 0.05, 0.35, cohort = 5),
  spec("obf", 0.1, 31, 0.05, 0.3, cohort = 3),         # last cohort of 1
  spec("bayes", 0.3, 30, 0.05, 0.5, cohort = 4),
  spec("pocock", 0.02, 60, 0.05, 0.1),
  spec("obf", 0.1, 100, 0.05, 0.2),
  spec("bayes", 0.05, 80, 0.025, 0.15, a = 0.5, b = 0.5),
  spec("pocock", 0.5, 12, 0.2, 0.7))

num <- function(v) sprintf("%.17g", v)
for (s in cases) {
  r <- calibrate(s)
  cat(sprintf(paste0("    {\"%s\", %s, %d, %d, %s, %s, %s, %s, %s,\n",
                     "     {%s},\n",
                     "     %s, %s, %s, %s,\n",
                     "     %s, %s, %s, %s},\n"),
              s$type, num(s$p0), s$N, s$cohort, num(s$alpha), num(s$delta),
              num(s$a), num(s$b), num(s$p1), paste(r$b, collapse = ", "),
              num(r$error), num(r$next_error), num(r$parameter),
              num(r$limit), num(r$size), num(r$events), num(r$power),
              num(r$size1)))
}

# stoppingrule's published examples, reproduced (printed to 7 digits there):
# README of version 0.5 (calc.rule, Pocock, p0 0.2, N 50, alpha 0.1): the
# table.rule boundary; reject probability 0.09977254 at p = 0.2, 0.27689051
# at 0.25, 0.53974016 at 0.3; E(evaluated) 46.72419 at 0.2. (Its E(events)
# 9.424838 is not reproduced: Wald's identity E[events] = p E[evaluated]
# gives 0.2 x 46.72419 = 9.344838, as computed here; version 0.6's README
# below agrees with Wald.)
s <- spec("pocock", 0.2, 50, 0.1, 0.25)
r <- calibrate(s)
ns <- looks_of(50, 1)
stopifnot(all(r$b == c(2, 3, 3, 3, 4, 4, 5, 5, 5, rep(6, 3), rep(7, 4),
                       rep(8, 3), rep(9, 4), rep(10, 3), rep(11, 4),
                       rep(12, 4), rep(13, 4), rep(14, 3), rep(15, 4),
                       rep(16, 4), 17)))
stopifnot(abs(r$error - 0.09977254) < 5e-9, abs(r$size - 46.72419) < 5e-6,
          abs(r$events - 0.2 * r$size) < 1e-12,
          abs(oc(ns, r$b, 0.25)$power - 0.27689051) < 5e-9,
          abs(oc(ns, r$b, 0.3)$power - 0.53974016) < 5e-9)
# README of version 0.6 (calc.rule.bin, BB, Beta(0.6, 2.4), p0 0.2, N 30,
# alpha 0.1): the boundary; reject probability 0.09957367 at 0.2,
# 0.43615256 at 0.3; E(events) 5.651197 at 0.2; cval 0.9630823. The exact
# tau is 0.96308269 (the posterior of 4 events of 7): stoppingrule finds
# each look's boundary with uniroot (default tolerance ~1e-4 in x), which
# puts its cval within ~1e-6 of the exact one, here just below it.
s <- spec("bayes", 0.2, 30, 0.1, 0.3, a = 0.6, b = 2.4)
r <- calibrate(s)
ns <- looks_of(30, 1)
stopifnot(all(r$b == c(2, 3, 3, 3, 4, 4, 5, 5, 5, 5, 6, 6, 6, 7, 7, 7, 7, 8,
                       8, 8, 9, 9, 9, 9, 10, 10, 10, 10, 11, 11)))
stopifnot(abs(r$error - 0.09957367) < 5e-9, abs(r$events - 5.651197) < 5e-7,
          abs(r$power - 0.43615256) < 5e-9,
          abs(r$parameter - 0.9630823) < 1e-6)
cat("# stoppingrule's published examples: reproduced\n")
