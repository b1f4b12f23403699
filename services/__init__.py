"""What providers change in the program database outside workflows: keys, offers, orders."""
