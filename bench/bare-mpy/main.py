# The floor: print, then give the same "ready" signal the app gives.
from js import document

print("hello from the bare page")
document.documentElement.dataset.appState = "ready"
