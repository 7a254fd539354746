print("cotflow: under construction")
