# Makes the R files the R reader's tests read (train/data/rdata_test.go), and the CSV
# files R itself writes of them, which the tests compare against. Run with R 4.x from
# this directory: Rscript make-fixtures.R. The tests need no R.
df <- data.frame(id = 1:3, f = factor(c("b", "a", "b"), levels = c("b", "a")),
                 x = c(1.5, NA, -3), l = c(TRUE, NA, FALSE), s = c("u", NA, "w\u00e9"),
                 o = factor(c("lo", "hi", "lo"), levels = c("lo", "hi"), ordered = TRUE),
                 stringsAsFactors = FALSE)
saveRDS(df, "frame-v3.rds", version = 3)                    # gzip; id is an ALTREP 1:3
saveRDS(df, "frame-v2.rds", version = 2, compress = FALSE)  # raw; id written out
saveRDS(df, "frame-bzip2.rds", version = 3, compress = "bzip2")
saveRDS(df, "frame-xz.rds", version = 3, compress = "xz")
saveRDS(df, "frame-ascii.rds", version = 3, ascii = TRUE, compress = FALSE)
write.csv(df, "frame.csv", row.names = FALSE, quote = FALSE)

# Sorted vectors are ALTREP wrappers (wrap_integer, wrap_real, ...).
sorted <- data.frame(i = sort(c(3L, 1L, 2L)), r = sort(c(2.5, -1, 1e6)),
                     s = sort(c("b", "c", "a")), l = sort(c(TRUE, FALSE, TRUE)),
                     stringsAsFactors = FALSE)
saveRDS(sorted, "sorted.rds", version = 3, compress = FALSE)
write.csv(sorted, "sorted.csv", row.names = FALSE, quote = FALSE)

latin <- c("caf\xe9", "na\xefve")
Encoding(latin) <- "latin1"
saveRDS(latin, "latin1.rds", version = 2, compress = FALSE)

saveRDS(function(x) x, "closure.rds", version = 3, compress = FALSE)
saveRDS(data.frame(d = as.Date("2020-01-02")), "date-column.rds", version = 3, compress = FALSE)
m <- data.frame(a = 1:2)
m$m <- matrix(1:4, 2)
saveRDS(m, "matrix-column.rds", version = 3, compress = FALSE)

e <- new.env()
assign("frame", df, e)
assign("small", data.frame(g = factor(c("x", "y")), n = c(10L, 20L)), e)
tools:::makeLazyLoadDB(e, "lazy-zlib", compress = TRUE)
tools:::makeLazyLoadDB(e, "lazy-bzip2", compress = 2L)
tools:::makeLazyLoadDB(e, "lazy-xz", compress = 3L)
write.csv(get("small", e), "small.csv", row.names = FALSE, quote = FALSE)
