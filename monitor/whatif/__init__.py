"""What-if books and the risk desk's offline inputs: the book file, its records, its reports."""
