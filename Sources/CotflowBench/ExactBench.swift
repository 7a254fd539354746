func benchExact() {
    print("Exact benchmark: not written yet")
}
