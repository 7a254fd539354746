func benchFlow() {
    print("Flow benchmark: not written yet")
}
