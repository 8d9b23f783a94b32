"""Sample images: telling formats apart (`formats`), turning one picture into three WebP
tiers (`pipeline`, `tiers`), the generation parameters pictures carry (`generation`), and a
model's gallery of them, changed safely (`gallery`)."""
