# Reference vectors for the signal module, from base R only.
# Regenerate (R from Debian r-base-core; CI does not need R):
#   cd services/signal/testdata && Rscript make_vectors.R
# Each output CSV is read by services/signal/reference_test.cc, which requires
# agreement to 1e-6 relative (1e-12 absolute near 0).
options(digits = 17)
w <- function(df, file) write.csv(df, file, row.names = FALSE, quote = TRUE)

# Clopper-Pearson (binom.test) and Wilson (prop.test without correction).
ci <- expand.grid(x = 0:0, n = 0:0, level = 0)[0, ]
cases <- rbind(
  data.frame(x = c(0, 1, 2, 3, 0, 1, 5, 0, 6, 10, 0, 1000000, 500000, 3),
             n = c(1, 1, 3, 3, 6, 6, 6, 10, 6, 100, 1000000, 1000000, 1000000, 9)),
  data.frame(x = c(17, 38, 1, 5), n = c(20, 46, 46, 46)))
rows <- list()
for (level in c(0.9, 0.95, 0.99)) {
  for (i in seq_len(nrow(cases))) {
    x <- cases$x[i]; n <- cases$n[i]
    cp <- binom.test(x, n, conf.level = level)$conf.int
    wi <- prop.test(x, n, conf.level = level, correct = FALSE)$conf.int
    rows[[length(rows) + 1]] <- data.frame(x = x, n = n, level = level,
      cp_lower = cp[1], cp_upper = cp[2], wilson_lower = wi[1], wilson_upper = wi[2])
  }
}
w(do.call(rbind, rows), "proportion_ci.csv")

# One-sided exact binomial test against p0 and its mid-p.
bt <- expand.grid(x = c(0, 1, 2, 3, 5, 10), n = c(3, 10, 30), p0 = c(1e-6, 0.02, 0.05, 0.2, 0.5, 0.999999))
bt <- bt[bt$x <= bt$n, ]
bt <- rbind(bt, data.frame(x = c(1, 1050, 1000000), n = c(1, 1000000, 1000000), p0 = c(0.3, 0.001, 0.9)))
bt$p <- mapply(function(x, n, p0) binom.test(x, n, p0, alternative = "greater")$p.value, bt$x, bt$n, bt$p0)
bt$midp <- mapply(function(x, n, p0) pbinom(x, n, p0, lower.tail = FALSE) + 0.5 * dbinom(x, n, p0), bt$x, bt$n, bt$p0)
w(bt, "binomial_test.csv")

# Posterior P(p > p0 | x, n) under Beta(a, b).
po <- data.frame(x = c(0, 1, 2, 3, 3, 0, 5, 10, 2, 1000),
                 n = c(3, 3, 3, 10, 10, 1, 6, 10, 6, 1000000),
                 p0 = c(0.05, 0.05, 0.2, 0.2, 0.2, 0.5, 0.1, 0.999, 0.0217391, 0.001),
                 a = c(1, 1, 1, 1, 0.5, 1, 0.25, 1, 0.75, 1),
                 b = c(1, 1, 1, 1, 0.5, 1, 2.25, 1, 22.75, 1))
po$posterior <- pbeta(po$p0, po$a + po$x, po$b + po$n - po$x, lower.tail = FALSE)
w(po, "posterior.csv")

# Exact Poisson rate interval per 100 patient-years (qchisq).
ra <- data.frame(events = c(0, 1, 2, 5, 40, 0, 3), py = c(10, 10, 200, 37.5, 1000, 0.5, 2.25),
                 level = c(0.95, 0.95, 0.9, 0.95, 0.99, 0.9, 0.95))
ra$rate <- 100 * ra$events / ra$py
a <- 1 - ra$level
ra$lower <- ifelse(ra$events == 0, 0, qchisq(a / 2, 2 * ra$events) / 2) * 100 / ra$py
ra$upper <- qchisq(1 - a / 2, 2 * ra$events + 2) / 2 * 100 / ra$py
w(ra, "poisson_rate.csv")

# One-sided Fisher exact (greater) and the Newcombe hybrid score interval of
# p1 - p0 (method 10, from Wilson intervals).
fi <- data.frame(x1 = c(1, 5, 2, 3, 1, 0, 10, 22, 6, 0, 15, 60, 2, 400, 3, 5, 90),
                 n1 = c(3, 6, 3, 3, 1, 5, 20, 84, 6, 40, 5000, 2000, 10000, 10000, 100, 10, 9000),
                 x0 = c(0, 1, 2, 3, 0, 2, 2, 6, 0, 0, 3, 20, 0, 100, 10, 5, 95),
                 n0 = c(3, 6, 3, 3, 1, 5, 20, 86, 6, 40, 5000, 2000, 10000, 10000, 100, 10, 9000))
fi$p <- mapply(function(x1, n1, x0, n0)
  fisher.test(matrix(c(x1, n1 - x1, x0, n0 - x0), 2), alternative = "greater")$p.value,
  fi$x1, fi$n1, fi$x0, fi$n0)
newcombe <- function(x1, n1, x0, n0, level = 0.95) {
  w1 <- prop.test(x1, n1, conf.level = level, correct = FALSE)$conf.int
  w0 <- prop.test(x0, n0, conf.level = level, correct = FALSE)$conf.int
  p1 <- x1 / n1; p0 <- x0 / n0; d <- p1 - p0
  c(d - sqrt((p1 - w1[1])^2 + (w0[2] - p0)^2), d + sqrt((w1[2] - p1)^2 + (p0 - w0[1])^2))
}
nc <- t(mapply(newcombe, fi$x1, fi$n1, fi$x0, fi$n0))
fi$rd_lower <- nc[, 1]; fi$rd_upper <- nc[, 2]
w(fi, "two_groups.csv")

# Cochran-Armitage: prop.trend.test chi-square (= Z^2).
tr <- list(list(x = c(0, 1, 3), n = c(3, 3, 3), s = c(2.5, 5, 10)),
           list(x = c(1, 1, 1), n = c(6, 6, 6), s = c(1, 2, 3)),
           list(x = c(6, 22, 22), n = c(86, 84, 84), s = c(0, 54, 81)),
           list(x = c(0, 2, 5, 9), n = c(10, 10, 10, 10), s = c(0, 1, 2, 4)),
           list(x = c(3, 2, 1), n = c(5, 5, 5), s = c(1, 2, 3)))
w(do.call(rbind, lapply(tr, function(t) data.frame(
  x = paste(t$x, collapse = ";"), n = paste(t$n, collapse = ";"), scores = paste(t$s, collapse = ";"),
  chisq = suppressWarnings(prop.trend.test(t$x, t$n, score = t$s)$statistic)))), "trend.csv")

# Benjamini-Hochberg (p.adjust) and the double FDR.
set.seed(20261123)
p <- c(0.001, 0.02, 0.03, 0.2, 0.5, 0.04, 0.9, runif(13)^2)
soc <- c("A", "A", "A", "B", "B", "C", "C", sample(c("A", "B", "C", "D"), 13, TRUE))
wi <- ave(p, soc, FUN = function(x) p.adjust(x, "BH"))
m <- tapply(wi, soc, min)
ac <- p.adjust(m, "BH")
w(data.frame(soc = soc, p = p, bh = p.adjust(p, "BH"), dfdr = pmax(ac[soc], wi)), "fdr.csv")
