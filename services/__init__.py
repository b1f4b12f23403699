"""What providers change in the program database outside the workflows: keys, offers, orders,
the program, templates, delivery settings. The API and the CLI call them; the SQL they share
with the activities lives in `store/`."""
